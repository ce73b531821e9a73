"""Each service's NATS permissions, derived from the contracts: the events it produces
(`EVENT_MODELS`, by the producer in their subject), the live subjects and RPCs it uses, and
the JetStream API subjects its stream, consumers and KV bucket need, as narrow as nats-py
allows. `python -m shared.contracts.permissions > infra/nats/auth.conf` writes the server's
authorization block from it (tests/unit/shared/test_nats_permissions.py checks the
committed file and runs the services' real wiring against these lists)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

from shared.contracts.events import (
    EVENT_MODELS,
    EVENTS_STREAM,
    PresenceChanged,
    SessionRevoked,
    spec_for,
)
from shared.contracts.live import (
    LIVE_BROADCAST,
    LIVE_BROADCAST_RECEIPTS,
    LIVE_CONNECTIONS,
    LIVE_SERVICE_HEARTBEAT,
    LIVE_VIEWING,
)
from shared.contracts.rpc import PRESENCE_PEER_RPC, PRESENCE_USERS_RPC
from shared.contracts.subjects import subject_matches

Service = Literal["chat", "presence", "notifications", "dashboard"]
SERVICES: tuple[Service, ...] = ("chat", "presence", "notifications", "dashboard")
ADMIN_USER = "admin"

# Names the services' settings default to; the permissions are written for these.
CHAT_THROTTLE_BUCKET = "CHAT_THROTTLE"
# Uploaded files under CHAT_BLOBS=nats (a JetStream Object Store bucket).
CHAT_FILES_BUCKET = "CHAT_FILES"
# Other services' audited actions (`AuditRecorded`), into chat's audit log.
CHAT_AUDIT_DURABLE = "chat-audit"
PRESENCE_BUCKET = "PRESENCE"
PRESENCE_LEASES_BUCKET = "PRESENCE_LEASES"
NOTIFICATIONS_DURABLE = "notifications"
NOTIFICATIONS_LEASE_BUCKET = "NOTIFICATIONS_LEASE"
# Outgoing webhooks: a second durable on EVENTS fans events out into the work-queue stream
# WEBHOOKS (one message per delivery on `webhooks.deliver.<webhook id>`), whose own durable
# makes the HTTP calls (services/notifications/adapters/outbound/nats_delivery_queue.py).
NOTIFICATIONS_WEBHOOKS_DURABLE = "notifications-webhooks"
WEBHOOKS_STREAM = "WEBHOOKS"
WEBHOOKS_SUBJECTS = "webhooks.deliver.>"
WEBHOOKS_DELIVERIES_DURABLE = "notifications-webhook-deliveries"

LIVE_ROOMS = "live.room.*"
LIVE_USERS = "live.user.*"
REVOKED_SUBJECT = spec_for(SessionRevoked).subject
JS_API = "$JS.API"

# The password env var the server reads for each user (`$VAR` in auth.conf).
PASSWORD_VARS: dict[str, str] = {
    "chat": "CHAT_NATS_PASSWORD", "presence": "PRESENCE_NATS_PASSWORD",
    "notifications": "NOTIFICATIONS_NATS_PASSWORD", "dashboard": "DASHBOARD_NATS_PASSWORD",
    ADMIN_USER: "TERTULIA_NATS_ADMIN_PASSWORD",
}


@dataclass(frozen=True, slots=True)
class Uses:
    """What one service does on NATS, in the contracts' terms."""

    publishes: tuple[str, ...]  # live subjects and requests (events come from EVENT_MODELS)
    subscribes: tuple[str, ...]
    answers: tuple[str, ...] = ()  # request subjects it replies to (queue group)
    durable: str | None = None  # its durable consumer of EVENTS
    kv_buckets: tuple[str, ...] = ()
    object_buckets: tuple[str, ...] = ()
    # Folds the whole of EVENTS with ephemeral consumers of its own (no durable to share).
    replays_events: bool = False
    # Its durable is exclusive (`shared/bus/nats_exclusive.py`): a new holder of the lease
    # reads the unacknowledged range from the stream by sequence (STREAM.MSG.GET).
    catches_up: bool = False
    # More durables of EVENTS it keeps (beside `durable`, the one it catches up on).
    more_durables: tuple[str, ...] = ()
    # Streams of its own, with the durable it consumes each with: (stream, subjects, durable).
    own_streams: tuple[tuple[str, str, str], ...] = ()


USES: dict[Service, Uses] = {
    "chat": Uses(
        publishes=(LIVE_ROOMS, LIVE_USERS, LIVE_CONNECTIONS, LIVE_VIEWING,
                   LIVE_BROADCAST_RECEIPTS, LIVE_SERVICE_HEARTBEAT, PRESENCE_USERS_RPC),
        # Presence changes reach chat as a core subscription on the event's subject.
        subscribes=(LIVE_ROOMS, LIVE_USERS, LIVE_BROADCAST, spec_for(PresenceChanged).subject),
        kv_buckets=(CHAT_THROTTLE_BUCKET,), object_buckets=(CHAT_FILES_BUCKET,),
        more_durables=(CHAT_AUDIT_DURABLE,)),
    "presence": Uses(
        # Several instances (PRESENCE_PARTITIONS) ask each other on rpc.presence.peer.<id>
        # and hold their partitions' leases in a bucket of their own.
        publishes=(LIVE_SERVICE_HEARTBEAT, f"{PRESENCE_PEER_RPC}.*"),
        subscribes=(LIVE_CONNECTIONS,),
        answers=(PRESENCE_USERS_RPC, f"{PRESENCE_PEER_RPC}.*"),
        kv_buckets=(PRESENCE_BUCKET, PRESENCE_LEASES_BUCKET)),
    "notifications": Uses(
        publishes=(LIVE_USERS, LIVE_SERVICE_HEARTBEAT),
        subscribes=(LIVE_VIEWING,),
        durable=NOTIFICATIONS_DURABLE,
        kv_buckets=(NOTIFICATIONS_LEASE_BUCKET,),
        catches_up=True,
        more_durables=(NOTIFICATIONS_WEBHOOKS_DURABLE,),
        own_streams=((WEBHOOKS_STREAM, WEBHOOKS_SUBJECTS, WEBHOOKS_DELIVERIES_DURABLE),)),
    "dashboard": Uses(
        publishes=(LIVE_BROADCAST, LIVE_SERVICE_HEARTBEAT),
        subscribes=(LIVE_CONNECTIONS, LIVE_SERVICE_HEARTBEAT, LIVE_BROADCAST_RECEIPTS),
        replays_events=True),
}


@dataclass(frozen=True, slots=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()
    allow_responses: bool = False


def inbox_prefix(service: str) -> str:
    """Where a service's replies arrive (nats-py `inbox_prefix`): its user may read only
    its own, so no service sees another's JetStream answers or RPC replies."""
    return f"_INBOX.{service}"


def produced_events(service: str) -> tuple[str, ...]:
    """The durable event subjects a service publishes: `events.<producer>.…`."""
    return tuple(spec.subject for spec in EVENT_MODELS
                 if spec.subject.split(".")[1] == service)


def _stream_api() -> list[str]:
    # Every service makes sure EVENTS exists and has its settings at start; none may delete
    # or purge it (no STREAM.DELETE / PURGE / MSG.DELETE here).
    return [f"{JS_API}.INFO", f"{JS_API}.STREAM.INFO.{EVENTS_STREAM}",
            f"{JS_API}.STREAM.CREATE.{EVENTS_STREAM}",
            f"{JS_API}.STREAM.UPDATE.{EVENTS_STREAM}"]


def _follower_api() -> list[str]:
    # The revocations follower: an ephemeral consumer with a random name, filtered to the
    # revocations, so it can read nothing else; its later requests take `*` for the name
    # (other services' durables are denied below).
    return [f"{JS_API}.CONSUMER.CREATE.{EVENTS_STREAM}.*.{REVOKED_SUBJECT}",
            f"{JS_API}.CONSUMER.MSG.NEXT.{EVENTS_STREAM}.*",
            f"{JS_API}.CONSUMER.INFO.{EVENTS_STREAM}.*",
            f"{JS_API}.CONSUMER.DELETE.{EVENTS_STREAM}.*"]


def _durable_api(durable: str, stream: str = EVENTS_STREAM) -> list[str]:
    base = f"{JS_API}.CONSUMER"
    return [f"{base}.INFO.{stream}.{durable}",
            f"{base}.CREATE.{stream}.{durable}",
            f"{base}.CREATE.{stream}.{durable}.>",
            f"{base}.DURABLE.CREATE.{stream}.{durable}",
            f"{base}.MSG.NEXT.{stream}.{durable}",
            f"$JS.ACK.{stream}.{durable}.>"]


def _own_stream_api(stream: str, subjects: str, durable: str) -> list[str]:
    # Its publishes (acknowledged: the reply comes to its inbox) and its stream's setup.
    return [subjects, f"{JS_API}.STREAM.INFO.{stream}", f"{JS_API}.STREAM.CREATE.{stream}",
            f"{JS_API}.STREAM.UPDATE.{stream}", *_durable_api(durable, stream)]


def _kv_api(bucket: str) -> list[str]:
    stream = f"KV_{bucket}"
    return [f"$KV.{bucket}.>",
            f"{JS_API}.STREAM.INFO.{stream}", f"{JS_API}.STREAM.CREATE.{stream}",
            f"{JS_API}.STREAM.UPDATE.{stream}",
            f"{JS_API}.STREAM.MSG.GET.{stream}", f"{JS_API}.DIRECT.GET.{stream}.>",
            f"{JS_API}.DIRECT.GET.{stream}",
            # keys() and watches are ordered push consumers (flow control on $JS.FC).
            f"{JS_API}.CONSUMER.CREATE.{stream}", f"{JS_API}.CONSUMER.CREATE.{stream}.>",
            f"{JS_API}.CONSUMER.DELETE.{stream}.*", f"{JS_API}.CONSUMER.INFO.{stream}.*",
            f"$JS.FC.{stream}.>"]


def _object_api(bucket: str) -> list[str]:
    # nats-py's put publishes chunks and a meta roll-up, and purges the old chunks; reads
    # are an ordered push consumer of one object's chunks; infos are direct gets.
    stream = f"OBJ_{bucket}"
    return [f"$O.{bucket}.>",
            f"{JS_API}.STREAM.INFO.{stream}", f"{JS_API}.STREAM.CREATE.{stream}",
            f"{JS_API}.STREAM.PURGE.{stream}",
            f"{JS_API}.STREAM.MSG.GET.{stream}", f"{JS_API}.DIRECT.GET.{stream}.>",
            f"{JS_API}.DIRECT.GET.{stream}",
            f"{JS_API}.CONSUMER.CREATE.{stream}", f"{JS_API}.CONSUMER.CREATE.{stream}.>",
            f"{JS_API}.CONSUMER.DELETE.{stream}.*", f"{JS_API}.CONSUMER.INFO.{stream}.*",
            f"$JS.FC.{stream}.>"]


def _others_durables(service: str) -> list[str]:
    """Another service's durable consumer is off limits even through the follower's `*`."""
    denied = []
    for other in SERVICES:
        durables = [USES[other].durable, *USES[other].more_durables]
        if other != service:
            denied += [f"{JS_API}.CONSUMER.{verb}.{EVENTS_STREAM}.{durable}"
                       for durable in durables if durable is not None
                       for verb in ("MSG.NEXT", "INFO", "DELETE")]
    return denied


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def permissions(service: Service) -> Permissions:
    uses = USES[service]
    publish = [*produced_events(service), *uses.publishes, *_stream_api(), *_follower_api()]
    subscribe = [*uses.subscribes, *uses.answers, f"{inbox_prefix(service)}.>"]
    if uses.durable is not None:
        publish += _durable_api(uses.durable)
    for durable in uses.more_durables:
        publish += _durable_api(durable)
    for stream, subjects, durable in uses.own_streams:
        publish += _own_stream_api(stream, subjects, durable)
    for bucket in uses.kv_buckets:
        publish += _kv_api(bucket)
    for bucket in uses.object_buckets:
        publish += _object_api(bucket)
    if uses.replays_events:
        # Named ephemeral consumers of every event (as the follower's, wider filter).
        publish.append(f"{JS_API}.CONSUMER.CREATE.{EVENTS_STREAM}.*.events.>")
    if uses.catches_up:
        publish.append(f"{JS_API}.STREAM.MSG.GET.{EVENTS_STREAM}")
    return Permissions(publish=_unique(publish), subscribe=_unique(subscribe),
                       publish_deny=_unique(_others_durables(service)),
                       allow_responses=bool(uses.answers))


def allowed(patterns: tuple[str, ...], subject: str) -> bool:
    return any(subject_matches(pattern, subject) for pattern in patterns)


def _list(items: tuple[str, ...], indent: str) -> str:
    return "[\n" + "".join(f'{indent}  "{item}"\n' for item in items) + f"{indent}]"


def render_auth_conf() -> str:
    """infra/nats/auth.conf: one user per service with its lists, and `admin` with all."""
    lines = [
        "# Generated by `python -m shared.contracts.permissions` from shared/contracts -- do",
        "# not edit by hand (tests/unit/shared/test_nats_permissions.py compares).",
        "# Passwords are read from the environment of nats-server ($VAR).",
        "authorization {",
        "  users = [",
    ]
    for service in SERVICES:
        perms = permissions(service)
        pad = "        "
        lines += [
            "    {",
            f"      user: {service}",
            f"      password: ${PASSWORD_VARS[service]}",
            "      permissions: {",
            "        publish: {",
            f"          allow: {_list(perms.publish, pad + '  ')}",
            f"          deny: {_list(perms.publish_deny, pad + '  ')}",
            "        }",
            f"        subscribe: {{ allow: {_list(perms.subscribe, pad + '  ')} }}",
        ]
        if perms.allow_responses:
            lines.append("        allow_responses: true")
        lines += ["      }", "    }"]
    lines += [
        "    # Operators' tools (backups, the nats CLI): everything.",
        f"    {{ user: {ADMIN_USER}, password: ${PASSWORD_VARS[ADMIN_USER]} }}",
        "  ]",
        "}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_auth_conf())
