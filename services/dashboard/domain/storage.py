"""Storage used: the bytes and files chat keeps (attachments, avatars), summed from its
`file.stored` and `file.deleted` events. A running total, not a per-minute count: it is
never pruned."""

from __future__ import annotations

from dataclasses import dataclass

FILE_KINDS = ("attachment", "avatar")


@dataclass(frozen=True, slots=True)
class StorageChanged:
    """A file was stored (+size, +1 file) or deleted (-size, -1 file)."""

    kind: str
    bytes: int
    files: int


@dataclass(frozen=True, slots=True)
class StorageRow:
    kind: str
    bytes: int
    files: int


class StorageTotals:
    """Bytes and files per kind. Rows are written whole (as a user record is), so the
    database and memory agree, and instances sharing a database, folding the same stream in
    order, write the same row. A deletion whose storing the stream no longer holds (a stream
    trimmed by its limits) must not show as negative storage: totals stop at zero."""

    def __init__(self) -> None:
        self._by_kind: dict[str, StorageRow] = {}

    def after(self, change: StorageChanged) -> StorageRow:
        """The kind's row once `change` is counted (nothing changes until `set`)."""
        known = self.of(change.kind)
        return StorageRow(change.kind, max(0, known.bytes + change.bytes),
                          max(0, known.files + change.files))

    def set(self, row: StorageRow) -> None:
        self._by_kind[row.kind] = row

    def restore(self, rows: list[StorageRow]) -> None:
        self._by_kind = {r.kind: r for r in rows}

    def of(self, kind: str) -> StorageRow:
        return self._by_kind.get(kind, StorageRow(kind, 0, 0))

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self._by_kind.values())

    @property
    def files(self) -> int:
        return sum(r.files for r in self._by_kind.values())

    def kinds(self) -> list[str]:
        return sorted(set(FILE_KINDS) | set(self._by_kind))
