"""Every problem or `error` frame code `docs/protocol.md` lists is one the code can give:
a client that handles a documented code is not handling a name that no longer exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*(?: \([^|]*\))?(?:, `[a-z_]+`)*) \| \d{3} \|")


def _documented() -> set[str]:
    codes: set[str] = set()
    for line in (ROOT / "docs" / "protocol.md").read_text().splitlines():
        match = _ROW.match(line)
        if match:
            cell = re.sub(r"\([^)]*\)", "", match.group(1))
            codes.update(re.findall(r"`([a-z_]+)`", cell))
    return codes


def _in_code() -> str:
    return "\n".join(p.read_text() for top in ("services", "shared")
                     for p in (ROOT / top).rglob("*.py"))


def test_every_documented_error_code_is_in_the_code() -> None:
    documented, code = _documented(), _in_code()
    assert len(documented) > 20
    assert sorted(c for c in documented if f'"{c}"' not in code) == []
