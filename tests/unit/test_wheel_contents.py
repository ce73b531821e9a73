"""The wheel carries every file the services read at run time (pages, scripts, the Caddyfile,
the password list), and nothing from outside `services/` and `shared/`."""

from __future__ import annotations

import zipfile

import pytest

from tests.support.wheel import build_wheel, source_files


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    wheel = build_wheel(tmp_path_factory.mktemp("wheel"), isolated=False)
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def _package_files() -> set[str]:
    return {name for name in source_files() if name.startswith(("services/", "shared/"))}


def test_every_file_of_the_packages_is_in_the_wheel(wheel_files: set[str]) -> None:
    """Compared with the source tree, not a list: a new static file, template or data file
    that package-data does not match fails here, not in a user's `pip install`."""
    assert sorted(_package_files() - wheel_files) == []


def test_the_gateway_config_and_the_pages_are_among_them(wheel_files: set[str]) -> None:
    assert "services/gateway/Caddyfile" in wheel_files
    static = {name for name in _package_files() if "/static/" in name}
    assert {name.split("/")[1] for name in static} >= {"chat", "dashboard"}
    assert static <= wheel_files


def test_the_wheel_holds_nothing_else(wheel_files: set[str]) -> None:
    """No tests, bench or docs; no stray build output."""
    assert sorted(wheel_files - _package_files()) == []
