"""Each service instance's health and version, from its `live.service.heartbeat`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["up", "not_ready", "down"]


@dataclass(slots=True)
class Instance:
    service: str
    instance_id: str
    version: str
    started_at: datetime
    last_seen: datetime
    interval_secs: float
    ready: bool
    details: dict[str, Any] = field(default_factory=dict)
    # The status clients were last told (None: never), so only changes become deltas.
    reported: Status | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.service, self.instance_id

    def status(self, now: datetime, stale_factor: float) -> Status:
        if (now - self.last_seen).total_seconds() > stale_factor * self.interval_secs:
            return "down"
        return "up" if self.ready else "not_ready"


class Health:
    """An instance is up while it beats and says it is ready; silent for longer than
    `stale_factor` of its own interval, it is down (crashed, partitioned or stopped)."""

    def __init__(self, stale_factor: float) -> None:
        self.stale_factor = stale_factor
        self.instances: dict[tuple[str, str], Instance] = {}

    def beat(self, beat: Instance) -> bool:
        """Record a heartbeat; True if the instance is new or its version or readiness changed
        (what is worth writing down at once)."""
        known = self.instances.get(beat.key)
        news = known is None or known.version != beat.version or known.ready != beat.ready
        # A new version is news even when the status stays "up": clients hear of it again.
        beat.reported = None if known is None or known.version != beat.version else known.reported
        self.instances[beat.key] = beat
        return news

    def restore(self, instance: Instance) -> None:
        self.instances[instance.key] = instance

    def changed(self, now: datetime) -> list[Instance]:
        """Instances whose status differs from what clients were last told; marks them told."""
        changed = []
        for instance in self.instances.values():
            status = instance.status(now, self.stale_factor)
            if status != instance.reported:
                instance.reported = status
                changed.append(instance)
        return changed

    def forget(self, now: datetime, *, replaced_secs: float, max_age_secs: float
               ) -> list[Instance]:
        """Drop instances silent for `max_age_secs`, and sooner (`replaced_secs`) those that
        another instance of the same service has outlived: a restart gets a new instance id,
        and the old one is not news for a day. The last instance of a service stays, down,
        so a service that is gone altogether does not vanish from the page. Returns them."""
        def replaced(i: Instance) -> bool:
            return any(o.service == i.service and o.last_seen > i.last_seen
                       for o in self.instances.values() if o is not i)

        gone = [i for i in self.instances.values()
                if (now - i.last_seen).total_seconds() > max_age_secs
                or ((now - i.last_seen).total_seconds() > replaced_secs and replaced(i))]
        for instance in gone:
            del self.instances[instance.key]
        return gone

    def fresh(self, service: str, now: datetime) -> set[str]:
        return {i.instance_id for i in self.instances.values()
                if i.service == service and i.status(now, self.stale_factor) != "down"}

    def ordered(self) -> list[Instance]:
        return sorted(self.instances.values(), key=lambda i: i.key)
