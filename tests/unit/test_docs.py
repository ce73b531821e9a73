"""The docs name only what exists: every repository path they quote, and every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.chat.settings import ChatSettings
from services.dashboard.settings import DashboardSettings
from services.notifications.settings import NotificationsSettings
from services.presence.settings import PresenceSettings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", "DEVELOPERS.md", "bench/README.md",
        *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
_QUOTED = re.compile(r"`([^`\s]+)`")
_SERVICE_HEADING = re.compile(r"^#+ .*`(services/\w+)")
# Names that look like repository paths and are not: files under the data directory, the
# design brief outside this repository, a file the browser test serves under another name.
NOT_REPOSITORY_FILES = {"ARCHITECTURE.md", "chat.html", "js/chat.js"}


def _looks_like_a_path(token: str) -> bool:
    token = token.rstrip(".,:;")
    if (token in NOT_REPOSITORY_FILES or token.startswith(("/", "$", "-", ".venv", "./data"))
            or (token.startswith(".") and "/" not in token)
            or any(c in token for c in "<>*{}=?:@'\"()[]") or token.endswith((".db", ".pem"))):
        return False
    return bool(re.search(r"\.(py|md|js|css|html|yaml|toml|json|txt)$", token)) or (
        "/" in token and token.split("/")[0] in
        {"services", "shared", "tests", "infra", "bench", "docs", ".ci"})


def _quoted_paths(doc: str) -> list[tuple[int, str, Path | None]]:
    """(line number, path, the service folder of the section it is in)."""
    found = []
    base: Path | None = None
    for number, line in enumerate((ROOT / doc).read_text().splitlines(), 1):
        if heading := _SERVICE_HEADING.match(line):
            base = ROOT / heading.group(1)
        elif line.startswith("#"):
            base = None
        found += [(number, token.rstrip(".,:;"), base)
                  for token in _QUOTED.findall(line) if _looks_like_a_path(token)]
    return found


def _file_names() -> set[str]:
    skip = {".venv", ".git", "node_modules", "__pycache__"}
    return {path.name for path in ROOT.rglob("*")
            if not skip.intersection(path.relative_to(ROOT).parts)}


@pytest.mark.parametrize("doc", DOCS)
def test_every_repository_path_a_doc_quotes_exists(doc: str) -> None:
    """A path with a folder is read from the root, the doc's folder or the service of the
    section; a bare file name (`ws.py`, in a sentence about a folder) must exist somewhere."""
    names = _file_names()
    missing = []
    for number, token, base in _quoted_paths(doc):
        places = [ROOT / token, (ROOT / doc).parent / token]
        if base is not None:
            places += [base / token, base / "static" / token]
        if not any(place.exists() for place in places) and not (
                "/" not in token and token in names):
            missing.append(f"{doc}:{number} `{token}`")
    assert missing == []


SETTINGS = {"CHAT_": ChatSettings, "PRESENCE_": PresenceSettings,
            "NOTIFICATIONS_": NotificationsSettings, "DASHBOARD_": DashboardSettings}
_ROW = re.compile(r"^\| (`[A-Z][^|]*?) \| ([^|]*?) \| [^|]*\|$", re.M)


def _documented_settings() -> dict[str, str]:
    """Variable → the default the table in docs/operations.md gives for it."""
    documented: dict[str, str] = {}
    for names, default in _ROW.findall((ROOT / "docs" / "operations.md").read_text()):
        variables = [v for v in re.findall(r"`([A-Z][A-Z0-9_]+)`", names)
                     if v.startswith(tuple(SETTINGS))]
        defaults = [d.strip() for d in default.split(",")] if len(variables) > 1 else [default]
        if len(defaults) != len(variables):  # one default for all of them ("unset")
            defaults = [default] * len(variables)
        documented.update(zip(variables, defaults, strict=True))
    return documented


def test_every_setting_is_documented_and_every_documented_setting_exists() -> None:
    documented = _documented_settings()
    fields = {prefix + name.upper() for prefix, cls in SETTINGS.items()
              for name in cls.model_fields}
    assert sorted(fields - set(documented)) == [], "settings missing from docs/operations.md"
    assert sorted(set(documented) - fields) == [], "documented settings the code lacks"


def test_the_documented_defaults_are_the_code_defaults() -> None:
    wrong = []
    for variable, doc_default in _documented_settings().items():
        prefix = next(p for p in SETTINGS if variable.startswith(p))
        field = SETTINGS[prefix].model_fields.get(variable[len(prefix):].lower())
        if field is None:
            continue
        default, shown = field.default, doc_default.strip("`").split(" ")[0]
        if isinstance(default, bool):
            ok = shown == str(default).lower()
        elif isinstance(default, int | float):
            ok = re.fullmatch(r"-?[\d.]+", shown) is not None and float(shown) == default
        elif isinstance(default, str):
            ok = doc_default.strip("`") == default
        else:
            continue  # paths, lists, computed defaults: described in words
        if not ok:
            wrong.append(f"{variable}: docs say {doc_default!r}, the code {default!r}")
    assert wrong == []
