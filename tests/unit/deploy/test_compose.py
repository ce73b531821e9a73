"""infra/compose/compose.yaml against the Compose specification, offline (no Compose engine
runs here): compose-pydantic's models, and the specification's current JSON schema
(tests/fixtures/compose-spec/README.md); then what docs/deploy.md promises of it."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pydantic
import pytest
import yaml
from compose_pydantic import ComposeSpecification

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_DIR = ROOT / "infra" / "compose"
COMPOSE = COMPOSE_DIR / "compose.yaml"
SPEC_SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
SERVICES = ("chat", "presence", "notifications", "dashboard")
# Fields of the specification newer than compose-pydantic 0.2.2's models (generated from
# the schema of 2022-03): depends_on's `required` (2023). The current schema checks them.
NEWER_THAN_COMPOSE_PYDANTIC = {"required"}


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _for_compose_pydantic(compose: dict[str, Any]) -> dict[str, Any]:
    older = copy.deepcopy(compose)
    for service in older["services"].values():
        for condition in (service.get("depends_on") or {}).values():
            for field in NEWER_THAN_COMPOSE_PYDANTIC:
                condition.pop(field, None)
    return older


def _schema_problems(compose: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SPEC_SCHEMA.read_text()))
    return [f"{'.'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]


def test_the_file_follows_the_compose_specification() -> None:
    compose = _compose()
    ComposeSpecification(**_for_compose_pydantic(compose))
    assert _schema_problems(compose) == []


def test_both_checks_refuse_what_compose_would() -> None:
    typo = _compose()
    typo["services"]["chat"]["helthcheck"] = typo["services"]["chat"].pop("healthcheck")
    with pytest.raises(pydantic.ValidationError):
        ComposeSpecification(**_for_compose_pydantic(typo))
    assert _schema_problems(typo)
    wrong = _compose()
    wrong["services"]["chat"]["depends_on"]["migrate"]["condition"] = "service_done"
    with pytest.raises(pydantic.ValidationError):
        ComposeSpecification(**_for_compose_pydantic(wrong))
    assert _schema_problems(wrong)
    newer = _compose()
    newer["services"]["migrate"]["depends_on"]["postgres"]["required"] = "no"
    assert _schema_problems(newer)


def _image_default(reference: str) -> str:
    match = re.fullmatch(r"\$\{TERTULIA_IMAGE:-([^}]+)\}", reference)
    assert match, reference
    return match.group(1)


def test_every_tertulia_container_runs_the_one_image_of_this_version() -> None:
    services = _compose()["services"]
    ours = {name: s for name, s in services.items() if name != "postgres"}
    assert {s["image"] for s in ours.values()} == {services["chat"]["image"]}
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert _image_default(services["chat"]["image"]) == f"localhost/tertulia:{version}"
    example = (COMPOSE_DIR / ".env.example").read_text()
    assert f"TERTULIA_IMAGE=localhost/tertulia:{version}\n" in example
    for name in SERVICES:
        assert services[name]["command"] == ["serve", name, "--host", "0.0.0.0", "--port",
                                             "8000"]
    assert services["migrate"]["command"] == ["migrate"]


def test_health_order_and_migrations() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        if name != "migrate":
            assert service["healthcheck"]["test"][0] == "CMD", name  # no shell assumed
    for name in SERVICES:
        service = services[name]
        test = service["healthcheck"]["test"]
        assert test[:2] == ["CMD", "python3"] and "http://127.0.0.1:8000/readyz" in test[-1]
        assert service["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "nats": {"condition": "service_healthy"}}
        assert service["environment"][f"{name.upper()}_AUTO_MIGRATE"] == "false"
        # uvicorn's graceful shutdown alone takes up to 10 s.
        assert int(service["stop_grace_period"].rstrip("s")) >= 20
        prefix = name.upper() + "_"
        assert service["environment"][prefix + "DATABASE_URL"] == (
            services["migrate"]["environment"][prefix + "DATABASE_URL"])
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy",
                                                             "required": False}
    assert services["postgres"]["profiles"] == ["postgres"]
    assert all("profiles" not in s for n, s in services.items() if n != "postgres")


def test_only_the_gateway_is_reachable_from_outside() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        assert "expose" not in service, name
        assert ("ports" in service) == (name == "gateway"), name
    assert services["gateway"]["ports"] == ["80:80", "443:443", "443:443/udp"]


def test_every_volume_the_image_user_writes_starts_as_its_own() -> None:
    """A new named volume is initialised from the image's directory it is mounted on; the
    image's /data belongs to 10001:10001, other paths (say /data/chat) would come up root's."""
    compose = _compose()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source, target, *_ = volume.split(":")
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), volume
                assert volume.endswith(":ro"), volume
            elif name != "postgres":
                assert source in compose["volumes"] and target == "/data", (name, volume)
        assert service.get("read_only", False) == (name != "postgres"), name


def test_every_variable_it_reads_is_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    example = (COMPOSE_DIR / ".env.example").read_text()
    listed = set(re.findall(r"^#?(\w+)=", example, re.M))
    assert sorted(used - listed) == []
    # Nothing that looks like a real secret is committed: every password is left empty.
    for line in example.splitlines():
        if re.match(r"^#?\w*PASSWORD=", line):
            assert line.endswith("="), line
    assert "<POSTGRES_PASSWORD>" in example


def test_the_nats_configuration_is_the_one_kubernetes_uses_and_is_valid() -> None:
    auth = (COMPOSE_DIR / "nats" / "auth.conf").read_text()
    assert auth == (ROOT / "infra" / "k8s" / "base" / "nats" / "auth.conf").read_text()
    server = Path(sys.executable).parent / "nats-server"
    env = {p: "secret" for p in re.findall(r"password:\s*\$(\w+)", auth)}
    assert sorted(env) == sorted(
        k for k in _compose()["services"]["nats"]["environment"])
    done = subprocess.run([str(server), "-t", "-c", str(COMPOSE_DIR / "nats" / "nats.conf")],
                          env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
