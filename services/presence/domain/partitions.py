"""Users split over a fixed number of partitions, and each instance's fair share of them.
No I/O: the leases that say who owns what live in `adapters/outbound/nats_leases.py`."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping


def partition_of(user_id: int, partitions: int) -> int:
    """A user's partition: fixed for as long as the number of partitions is (never change
    PRESENCE_PARTITIONS under running instances: two would then compute the same user)."""
    return user_id % partitions


def fair_share(partitions: int, members: int) -> int:
    """The most partitions one of `members` live instances may hold: ceil(P / N)."""
    return math.ceil(partitions / max(1, members))


def plan(partitions: int, me: str, members: Collection[str], owners: Mapping[int, str],
         ) -> tuple[list[int], list[int]]:
    """What this instance should claim and release now, given the live instances and who
    holds which partition. Over its share it releases its highest partitions; under it, it
    claims the lowest free ones. Partitions another instance holds are never touched: they
    come free only when that owner releases them or its lease expires."""
    share = fair_share(partitions, len({*members, me}))
    mine = sorted(p for p, owner in owners.items() if owner == me)
    release = mine[share:]
    free = [p for p in range(partitions) if p not in owners]
    claim = free[:max(0, share - len(mine))]
    return claim, release


class Ownership:
    """Which users this instance computes, and who computes the others.

    With no partitions (`partitions == 0`, one instance: the default) it owns everyone.
    Otherwise `mine` is what its leases hold and `owners` what every lease said at the last
    renewal (the lease keeper in `adapters/inbound/partitions.py` keeps both)."""

    def __init__(self, partitions: int = 0, me: str = "") -> None:
        self.partitions = partitions
        self.me = me
        self.mine: set[int] = set()
        self.owners: dict[int, str] = {}

    @property
    def partitioned(self) -> bool:
        return self.partitions > 0

    def partition(self, user_id: int) -> int:
        return partition_of(user_id, self.partitions) if self.partitioned else 0

    def owns(self, user_id: int) -> bool:
        return not self.partitioned or self.partition(user_id) in self.mine

    def owner_of(self, user_id: int) -> str | None:
        """The instance computing this user; None while their partition has no owner."""
        if self.owns(user_id):
            return self.me
        return self.owners.get(self.partition(user_id))

    def others(self) -> dict[str, set[int]]:
        """Every other instance holding partitions, with the partitions it holds."""
        found: dict[str, set[int]] = {}
        for partition, owner in self.owners.items():
            if owner != self.me and partition not in self.mine:
                found.setdefault(owner, set()).add(partition)
        return found

    def unowned(self) -> set[int]:
        """Partitions nobody holds right now (a hand-over under way)."""
        if not self.partitioned:
            return set()
        return set(range(self.partitions)) - self.mine - set(self.owners)
