"""Operator broadcasts and their delivery: chat replicas' receipts, inbox entries, reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.errors import RuleError

BROADCAST_MAX_CHARS = 4000


class DashboardError(RuleError):
    """A rule said no; `code` is stable and becomes the problem's `code`."""

    status = 422


def validate_broadcast(content: str, max_chars: int = BROADCAST_MAX_CHARS) -> str:
    text = content.strip()
    if not text:
        raise DashboardError("empty_content", "A broadcast needs some text.")
    if len(text) > max_chars:
        raise DashboardError("content_too_long", f"At most {max_chars} characters.")
    return text


@dataclass(frozen=True, slots=True)
class Receipt:
    """What one chat replica handed the broadcast to."""

    replica_id: str
    sockets: int
    users: int
    user_ids: tuple[int, ...] = ()


@dataclass(slots=True)
class Broadcast:
    broadcast_id: str
    content: str
    sender: str
    sent_by: int
    sent_at: datetime
    # Sockets open and chat replicas alive when it was sent (from their reports).
    total_connections: int
    expected_replicas: frozenset[str] = frozenset()
    receipts: dict[str, Receipt] = field(default_factory=dict)

    def add(self, receipt: Receipt) -> bool:
        """Record a replica's receipt (once per replica); True when every expected replica
        has answered."""
        self.receipts[receipt.replica_id] = receipt
        return self.complete

    @property
    def complete(self) -> bool:
        return bool(self.expected_replicas) and self.expected_replicas <= self.receipts.keys()

    @property
    def sent_to(self) -> int:
        return sum(r.sockets for r in self.receipts.values())

    @property
    def users_reached(self) -> int:
        """Distinct users across replicas (a user with sockets on two replicas counts once).
        A receipt without ids can only add its own count."""
        ids: set[int] = set()
        uncounted = 0
        for receipt in self.receipts.values():
            if receipt.user_ids or not receipt.users:
                ids.update(receipt.user_ids)
            else:
                uncounted += receipt.users
        return len(ids) + uncounted
