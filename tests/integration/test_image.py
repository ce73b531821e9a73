"""The one image, built as `make image` builds it (infra/image/build.sh: debootstrap, then
buildah with vfs storage and chroot isolation), loaded back from its docker-archive as
`podman load` would, and run: chat answers /readyz inside it, and `tertulia up` serves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.launcher import free_port

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "infra" / "image" / "build.sh"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
TAG = f"localhost/tertulia:{VERSION}"
UID_GID = "10001:10001"

# The first build (debootstrap) takes minutes; pytest's default timeout covers the fixture.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1200)]


def _require_tools() -> None:
    """Skip without buildah/debootstrap or root, except under CI (.ci/run installs them)."""
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    reason = None
    if missing:
        reason = (f"{' and '.join(missing)} not installed (apt-get install buildah "
                  "debootstrap; .ci/run does)")
    elif os.geteuid() != 0:
        reason = "building the image needs root (debootstrap, buildah's chroot isolation)"
    if reason and os.environ.get("CI") == "true":
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


class Buildah:
    """buildah on a storage of its own under the test's temporary directory."""

    def __init__(self, storage: Path) -> None:
        self.argv = ["buildah", "--storage-driver", "vfs",
                     "--root", str(storage / "root"), "--runroot", str(storage / "run")]

    def __call__(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([*self.argv, *args], capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"buildah {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    _require_tools()
    work = tmp_path_factory.mktemp("image")
    path = work / "tertulia-image.tar"
    started = time.monotonic()
    built = subprocess.run(
        [str(BUILD)], capture_output=True, text=True, timeout=1100,
        env={**os.environ, "PYTHON": sys.executable, "TERTULIA_IMAGE_ARCHIVE": str(path),
             "TERTULIA_BUILDAH_ROOT": str(work / "build-storage")})
    print(f"infra/image/build.sh: {time.monotonic() - started:.0f} s\n{built.stderr}",
          file=sys.stderr)
    # The archive is all the tests use; vfs keeps a full copy of the file system per image.
    shutil.rmtree(work / "build-storage", ignore_errors=True)
    assert built.returncode == 0, built.stdout + built.stderr
    yield path
    path.unlink()


@pytest.fixture(scope="module")
def loaded(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buildah]:
    """A fresh storage holding only what the archive brings (what `podman load` does)."""
    storage = tmp_path_factory.mktemp("loaded")
    buildah = Buildah(storage)
    try:
        buildah("pull", "--quiet", f"docker-archive:{archive}")
        yield buildah
    finally:
        shutil.rmtree(storage, ignore_errors=True)


@pytest.fixture
def run_in_image(loaded: Buildah) -> Iterator[Callable[..., dict[str, Any]]]:
    """Runs a Python program in a new container of the image (its user, env and file system;
    the host's network, as chroot isolation gives); returns the JSON it prints last."""
    containers: list[str] = []

    def run(program: str, env: dict[str, str] | None = None) -> dict[str, Any]:
        container = loaded("from", "--quiet", TAG).strip()
        containers.append(container)
        env_args = [arg for name, value in (env or {}).items()
                    for arg in ("--env", f"{name}={value}")]
        out = loaded("run", "--isolation", "chroot", *env_args, container, "--",
                     "python3", "-c", program, timeout=180)
        return json.loads(out.strip().splitlines()[-1])

    yield run
    for container in containers:
        loaded("rm", container)


def _config(archive: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tar.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
    return manifest, config


def test_the_archive_is_one_docker_image_named_and_configured_as_agreed(archive: Path) -> None:
    manifest, config = _config(archive)
    assert [entry["RepoTags"] for entry in manifest] == [[TAG]]
    image = config["config"]
    assert image["User"] == UID_GID
    assert image["Entrypoint"] == ["tertulia"]
    assert image["Cmd"] == ["serve", "chat", "--host", "0.0.0.0", "--port", "8000"]
    assert "DATA_DIR=/data" in image["Env"]
    assert image["WorkingDir"] == "/data"
    assert "/data" in image["Volumes"]
    assert "8000/tcp" in image["ExposedPorts"]
    assert image["Labels"]["org.opencontainers.image.version"] == VERSION


def test_the_file_system_has_the_venv_with_both_servers_and_data_owned_by_the_user(
        archive: Path) -> None:
    manifest, _ = _config(archive)
    wanted = {"data", "opt/tertulia/bin/tertulia", "opt/tertulia/bin/nats-server",
              "opt/tertulia/bin/caddy", "opt/tertulia/bin/python3", "etc/passwd"}
    found: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(archive) as outer:
        for layer in manifest[0]["Layers"]:
            stream = outer.extractfile(layer)
            assert stream is not None
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    name = member.name.removeprefix("./").rstrip("/")
                    if name in wanted:
                        found[name] = member
    assert sorted(found) == sorted(wanted)
    data = found["data"]
    assert data.isdir() and (data.uid, data.gid) == (10001, 10001)
    assert not any(name.startswith("tmp/wheels") for name in found)  # bind-mounted only


READYZ_PROGRAM = """
import json, os, subprocess, time, urllib.request
port = os.environ["CHAT_TEST_PORT"]
chat = subprocess.Popen(["tertulia", "serve", "chat", "--host", "127.0.0.1", "--port", port])
status, body = None, ""
deadline = time.monotonic() + 60
while time.monotonic() < deadline and chat.poll() is None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
            status, body = reply.status, reply.read().decode()
        break
    except OSError:
        time.sleep(0.2)
chat.terminate()
code = chat.wait(30)
data = os.stat("/data")
print(json.dumps({"status": status, "body": body, "exit": code, "uid": os.getuid(),
                  "gid": os.getgid(), "data_owner": [data.st_uid, data.st_gid],
                  "files": {name: os.stat(os.path.join("/data", name)).st_uid
                            for name in os.listdir("/data")}}))
"""


def test_chat_is_ready_inside_the_image(run_in_image: Callable[..., dict[str, Any]],
                                        nats_url: str) -> None:
    """As the image's user, with its DATA_DIR, against a NATS on the host."""
    port = free_port()
    result = run_in_image(READYZ_PROGRAM,
                          env={"NATS_URL": nats_url, "CHAT_TEST_PORT": str(port)})
    assert result["status"] == 200, result
    assert json.loads(result["body"])["status"] == "ok"
    assert (result["uid"], result["gid"]) == (10001, 10001)
    assert result["data_owner"] == [10001, 10001]
    assert result["files"].get("chat.db") == 10001  # the database went to the volume
    assert result["exit"] in (0, -15)  # a clean stop on SIGTERM


UP_PROGRAM = """
import json, os, signal, subprocess, time, urllib.request
port = os.environ["GATEWAY_TEST_PORT"]
up = subprocess.Popen(["tertulia", "up", "--port", port], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
status = None
deadline = time.monotonic() + 90
while time.monotonic() < deadline and up.poll() is None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as reply:
            status = reply.status
        break
    except OSError:
        time.sleep(0.2)
up.send_signal(signal.SIGTERM)
code = up.wait(60)
print(json.dumps({"status": status, "exit": code, "data": sorted(os.listdir("/data"))}))
"""


def test_tertulia_up_runs_inside_the_image(run_in_image: Callable[..., dict[str, Any]]) -> None:
    """NATS, the four services and Caddy, all from the image's venv; the data in /data."""
    result = run_in_image(UP_PROGRAM, env={"GATEWAY_TEST_PORT": str(free_port())})
    assert result["status"] == 200, result
    assert result["exit"] == 0, result
    assert {"chat.db", "presence.db", "notifications.db", "dashboard.db", "nats"} <= set(
        result["data"])
