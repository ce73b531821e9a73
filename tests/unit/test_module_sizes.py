"""Modules in `services/` and `shared/` stay small enough to read in one sitting: one concept
each, about 300 lines at most, or a module docstring that says why it is longer ("Longer than
300 lines: ..."). The median module stays below what it was before issue 12 split the crowded
ones (printed with `pytest -s`, so a change can report it)."""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "shared")
MAX_LINES = 300
REASON = "Longer than 300 lines"
# Lines in the median module of services/ and shared/ before issue 12 (139 modules, at
# 3e47676): the splits must bring it down, not only cap the largest.
MEDIAN_LINES_BEFORE = 85


def _modules() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text()
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _lines(text: str) -> int:
    return text.count("\n")


def _too_long(modules: dict[str, str]) -> dict[str, int]:
    return {
        name: _lines(text)
        for name, text in modules.items()
        if _lines(text) > MAX_LINES and REASON not in (ast.get_docstring(ast.parse(text)) or "")
    }


def test_no_module_is_over_300_lines_without_saying_why() -> None:
    too_long = _too_long(_modules())
    assert too_long == {}


def test_the_median_module_is_smaller_than_before_issue_12() -> None:
    sizes = [_lines(text) for text in _modules().values()]
    median = statistics.median(sizes)
    print(f"\n{len(sizes)} modules in {', '.join(PACKAGES)}: median {median} lines "
          f"(before issue 12: {MEDIAN_LINES_BEFORE}); {len(_too_long(_modules()))} over "
          f"{MAX_LINES} without a reason")
    assert median < MEDIAN_LINES_BEFORE
