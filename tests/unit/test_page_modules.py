"""The browser pages are plain ES modules, one concept each, under a small composition root.

Read as files, no browser: every relative import names a module that exists and a name it
exports (what the browser would refuse to link), every module is reached from the root (no
dead file is served), and the root stays small. The pages' behaviour is tests/e2e's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The page's entry module (what its HTML loads) and the folder its modules live in.
PAGES = {
    "chat": (ROOT / "services/chat/static/app.js", ROOT / "services/chat/static/js"),
    # The administration page shares the chat page's folder (and several of its modules).
    "admin": (ROOT / "services/chat/static/admin.js", ROOT / "services/chat/static/js"),
    "dashboard": (ROOT / "services/dashboard/static/assets/dashboard.js",
                  ROOT / "services/dashboard/static/assets"),
}
ROOT_MAX_LINES = 200
_IMPORT = re.compile(r"^import \{([^}]*)\} from '(\./[\w./-]+\.js)';", re.M)
_EXPORT = re.compile(r"^export (?:async )?(?:function|const|let|class) ([\w$]+)", re.M)


def _imports(module: Path) -> list[tuple[Path, set[str]]]:
    return [((module.parent / path).resolve(),
             {name.strip() for name in names.split(",") if name.strip()})
            for names, path in _IMPORT.findall(module.read_text())]


def _reachable(entry: Path) -> dict[Path, list[tuple[Path, set[str]]]]:
    seen: dict[Path, list[tuple[Path, set[str]]]] = {}
    todo = [entry.resolve()]
    while todo:
        module = todo.pop()
        if module in seen or not module.exists():
            continue
        seen[module] = _imports(module)
        todo += [target for target, _ in seen[module]]
    return seen


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_import_names_an_export_of_a_module_that_exists(page: str) -> None:
    entry, _ = PAGES[page]
    broken = []
    for module, imports in _reachable(entry).items():
        for target, names in imports:
            if not target.exists():
                broken.append(f"{module.name}: no {target.name}")
                continue
            missing = names - set(_EXPORT.findall(target.read_text()))
            if missing:
                broken.append(f"{module.name}: {target.name} exports no {sorted(missing)}")
    assert broken == []


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_module_is_reached_from_the_page_and_the_root_stays_small(page: str) -> None:
    entry, folder = PAGES[page]
    reached = set(_reachable(entry))
    by_any = reached.union(*(_reachable(other) for other, shared in PAGES.values()
                             if shared == folder))
    assert sorted(p.name for p in folder.glob("*.js") if p.resolve() not in by_any) == []
    # One concept per module: the root only wires them together.
    assert len(entry.read_text().splitlines()) < ROOT_MAX_LINES
    assert len(reached) > 10
