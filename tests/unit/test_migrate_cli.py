"""`tertulia migrate`'s arguments (what it does to databases: tests/integration/test_migrate.py)."""

from __future__ import annotations

import pytest

from services.cli import main


def test_help_lists_migrate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "migrate" in capsys.readouterr().out


def test_an_unknown_service_is_refused_before_any_database_is_opened(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "chat", "chats"]) == 2
    assert capsys.readouterr().err == (
        "tertulia migrate: unknown service chats (choose from chat, presence, notifications, "
        "dashboard)\n")
