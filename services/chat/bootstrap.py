"""The composition root: `wire()` builds every adapter from settings (each one overridable);
`running()` starts them and stops them again. Nothing connects at import or in `wire()`.

Longer than 300 lines because it is the one composition root: every adapter of the service
is built, started and stopped here, in an order read top to bottom."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from limits.aio.storage import MemoryStorage, Storage
from sqlalchemy.engine import make_url

from services.chat import use_cases
from services.chat.adapters import frames
from services.chat.adapters.inbound.audit_events import consume_audit_events
from services.chat.adapters.inbound.hook_limit import HookLimiter, window_secs
from services.chat.adapters.inbound.rate_limit import RateLimiter
from services.chat.adapters.inbound.subscriptions import subscribe_presence
from services.chat.adapters.inbound.throttle import AuthLimits, AuthThrottle
from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound import file_wiring
from services.chat.adapters.outbound.asyncpg_joins import AsyncpgJoinReader
from services.chat.adapters.outbound.asyncpg_posts import AsyncpgPostLog
from services.chat.adapters.outbound.bus_presence import BusPresenceDirectory
from services.chat.adapters.outbound.common_passwords import load_password_policy
from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.adapters.outbound.connections_report import ConnectionsReporter
from services.chat.adapters.outbound.nats_kv_limits import NatsKvLimitsStorage
from services.chat.adapters.outbound.nats_live_feed import BusLiveFeed
from services.chat.adapters.outbound.security import Argon2PasswordHasher, SystemClock
from services.chat.adapters.outbound.session_revocations import HubSessionRevocations
from services.chat.adapters.outbound.sha256_secrets import Sha256SecretDigest
from services.chat.adapters.outbound.sqla_export import SqlaExportSource
from services.chat.adapters.outbound.sqla_store import SqlaChatUnitOfWork
from services.chat.adapters.outbound.sqla_tables import outbox
from services.chat.adapters.outbound.sqlite_joins import SqliteJoinReader
from services.chat.adapters.outbound.sqlite_posts import SqlitePostLog
from services.chat.adapters.outbound.viewing_report import ViewingReporter
from services.chat.adapters.outbound.word_filter_cache import CachedWordFilters
from services.chat.domain import AuthSession, User
from services.chat.migrations import SCHEMA
from services.chat.ports import BlobStore, ChatDeps, Clock, PasswordHasher
from services.chat.posting import PostQueue
from services.chat.settings import ChatSettings
from shared.auth import (
    SESSION_REPLAY_SECS,
    Principal,
    RevokedSessions,
    TokenIssuer,
    TokenVerifier,
    follow_revocations,
    generate_private_key_pem,
)
from shared.bus import EventBus
from shared.bus.nats import NatsEventBus
from shared.db import Database
from shared.gc_policy import GcPauses
from shared.lifecycle import connect_bus, open_database, run_relay, run_task, subscribed
from shared.observability import publish_heartbeats
from shared.outbox import OutboxRelay

log = logging.getLogger(__name__)
VERSION = "0.1.0"
SOURCE = "tertulia/chat"


@dataclass(eq=False)
class Chat:
    settings: ChatSettings
    db: Database
    bus: EventBus
    deps: ChatDeps
    hub: ConnectionHub
    relay: OutboxRelay
    post_log: SqlitePostLog | AsyncpgPostLog
    joins: SqliteJoinReader | AsyncpgJoinReader
    posts: PostQueue
    metrics: ChatMetrics
    limiter: RateLimiter
    gc_pauses: GcPauses
    presence: BusPresenceDirectory
    revoked: RevokedSessions
    revocations: HubSessionRevocations
    issuer: TokenIssuer | None = None
    token_verifier: TokenVerifier | None = None  # from the signing key, in start()
    throttle: AuthThrottle | None = None
    hook_limits: HookLimiter | None = None
    accepting: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    async def issue_token(self, user: User) -> str:
        """Sign in: open a session for `user` and sign a token that carries its id."""
        assert self.issuer is not None
        user, session = await use_cases.open_session(self.deps, user.id)
        return self.session_token(user, session)

    def session_token(self, user: User, session: AuthSession) -> str:
        assert self.issuer is not None
        return self.issuer.issue(Principal(user.id, user.username, user.is_admin, session.id),
                                 expires_at=session.expires_at.timestamp())

    async def readiness(self) -> dict[str, bool]:
        return {"database": await self.db.ping(), "nats": self.bus.is_connected,
                "accepting": self.accepting}


def wire(settings: ChatSettings, *, bus: EventBus | None = None,
         hasher: PasswordHasher | None = None, clock: Clock | None = None,
         issuer: TokenIssuer | None = None,
         throttle_storage: Storage | None = None, blobs: BlobStore | None = None) -> Chat:
    db = Database(settings.resolved_database_url())
    # No echo: the replica hands its own frames to its own sockets (BusLiveFeed).
    bus = bus or settings.nats_bus("chat", settings.replica_id, echo=False)
    metrics = ChatMetrics()
    relay = OutboxRelay(db, bus, outbox, published=metrics.outbox_published,
                        pending=metrics.outbox_pending, poll_secs=settings.outbox_poll_secs,
                        batch=settings.outbox_batch)
    hub = ConnectionHub(
        bus, metrics, replica_id=settings.replica_id,
        queue_frames=settings.ws_send_queue_frames,
        send_buffer_bytes=settings.ws_send_buffer_bytes,
        reporter=ConnectionsReporter(bus, replica_id=settings.replica_id,
                                     heartbeat_secs=settings.connections_heartbeat_secs,
                                     activity_secs=settings.activity_report_secs),
        viewing=ViewingReporter(bus, replica_id=settings.replica_id,
                                heartbeat_secs=settings.connections_heartbeat_secs),
        members_of=lambda room_id: use_cases.member_ids(deps, room_id),
        missed_frames=lambda room_id, after, before: _missed_frames(deps, room_id, after,
                                                                    before))
    clock = clock or SystemClock()
    presence = BusPresenceDirectory(bus)
    live = BusLiveFeed(bus, hub)
    post_log, joins = _hot_path(settings, db, relay)
    relay.set_mark(post_log.mark_sent)
    posts = PostQueue(post_log, live, clock, on_batch=metrics.post_batch_posts.observe)
    revoked = RevokedSessions()
    revocations = HubSessionRevocations(revoked, hub)
    uow = SqlaChatUnitOfWork(db, committed=relay.committed)
    deps = ChatDeps(
        uow=uow,
        live=live,
        hasher=hasher or Argon2PasswordHasher(),
        clock=clock,
        post=posts.submit,
        joins=joins,
        live_settings=settings.live_settings(),
        history_on_join=settings.history_on_join,
        recovery_max_messages=settings.recovery_max_messages,
        presence=presence,
        revocations=revocations,
        session_ttl_secs=settings.access_token_ttl_secs,
        reactions_max_per_message=settings.reactions_max_per_message,
        blobs=blobs or file_wiring.blob_store(settings, bus),
        images=file_wiring.image_processor(settings), files=file_wiring.file_limits(settings),
        secrets=Sha256SecretDigest(),
        word_filters=CachedWordFilters(uow, settings.word_filter_refresh_secs),
        exports=SqlaExportSource(db),
    )
    limiter = RateLimiter(settings.rate_limit_per_sec, settings.rate_limit_burst)
    throttle = _auth_throttle(settings, bus, throttle_storage)
    return Chat(settings, db, bus, deps, hub, relay, post_log, joins, posts, metrics, limiter,
                GcPauses(metrics.registry), presence, revoked, revocations, issuer,
                throttle=throttle,
                hook_limits=HookLimiter(throttle.storage, settings.hook_rate_limit))


def _auth_throttle(settings: ChatSettings, bus: EventBus, storage: Storage | None
                   ) -> AuthThrottle:
    """Sign-in and sign-up budgets in the NATS KV bucket every replica shares; in memory
    without NATS (unit tests)."""
    limits = AuthLimits.parse(settings.signin_limit_per_account,
                              settings.signin_limit_per_address,
                              settings.signup_limit_per_account,
                              settings.signup_limit_per_address)
    # The hooks' budgets share the bucket (`HookLimiter`): its max age covers theirs too.
    longest = max(limits.longest_window_secs(), window_secs(settings.hook_rate_limit))
    if storage is None:
        storage = (NatsKvLimitsStorage(bus, settings.throttle_kv_bucket, longest)
                   if isinstance(bus, NatsEventBus) else MemoryStorage())
    return AuthThrottle(storage, limits)


def _hot_path(settings: ChatSettings, db: Database, relay: OutboxRelay
              ) -> tuple[SqlitePostLog | AsyncpgPostLog, SqliteJoinReader | AsyncpgJoinReader]:
    """Posts and joins talk to the database driver directly (see the adapters); SQLAlchemy
    serves everything else."""
    url = settings.resolved_database_url()
    if db.sqlite:
        path = make_url(url).database
        if not path or path == ":memory:":
            raise ValueError("the chat service needs a SQLite file, not an in-memory database")
        return (SqlitePostLog(path, db, source=SOURCE, committed=relay.committed),
                SqliteJoinReader(path))
    return (AsyncpgPostLog(url, source=SOURCE, committed=relay.committed),
            AsyncpgJoinReader(url))


async def _missed_frames(deps: ChatDeps, room_id: int, after_seq: int,
                         before_seq: int) -> list[tuple[int, bytes]]:
    messages = await use_cases.messages_between(deps, room_id, after_seq, before_seq)
    return [(m.seq, frames.encode("message", frames.message_data(m))) for m in messages]


def _read_or_create_key(path: Path) -> str:
    """Create the signing key once (O_EXCL), so replicas sharing a data dir share the key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    pem = generate_private_key_pem()
    with os.fdopen(fd, "w") as fh:
        fh.write(pem)
    return pem


async def load_issuer(settings: ChatSettings) -> TokenIssuer:
    pem = settings.signing_key_pem or await asyncio.to_thread(
        _read_or_create_key, settings.resolved_signing_key_file())
    return TokenIssuer(pem, ttl_secs=settings.access_token_ttl_secs)


@asynccontextmanager
async def running(chat: Chat) -> AsyncIterator[Chat]:
    """Start what `wire` built; on exit stop it, in reverse (`shared/lifecycle.py`):
    readiness off, the heartbeat and the subscriptions gone, every socket closed with 1001
    (clients reconnect elsewhere), the posts in flight committed, the relay and the purge
    ended, NATS drained, the database threads and connections closed."""
    settings = chat.settings
    if settings.access_token_ttl_secs > SESSION_REPLAY_SECS:
        # Services read back revocations this far only: a longer token could outlive them.
        raise ValueError(f"CHAT_ACCESS_TOKEN_TTL_SECS must be at most {SESSION_REPLAY_SECS}")
    async with AsyncExitStack() as stack:
        if chat.issuer is None:
            chat.issuer = await load_issuer(settings)
        chat.token_verifier = chat.issuer.verifier(revoked=chat.revoked)
        await _open_storage(stack, chat)
        await connect_bus(stack, chat.bus)
        if chat.throttle is not None and isinstance(chat.throttle.storage, NatsKvLimitsStorage):
            try:
                await chat.throttle.storage.ensure_bucket()
            except Exception as exc:  # made on first use instead
                log.warning("throttle KV bucket not ready",
                            extra={"fields": {"error": repr(exc)}})
        if settings.admin_username and settings.admin_password:
            outcome = await use_cases.ensure_admin(chat.deps, settings.admin_username,
                                                   settings.admin_password)
            log.info("admin account", extra={"fields": {"username": settings.admin_username,
                                                        "outcome": outcome}})
        run_relay(stack, chat.relay)
        run_task(stack, chat.relay.run_purge(
            retention_secs=settings.outbox_retention_secs,
            interval_secs=settings.outbox_purge_interval_secs), "outbox-purge")
        run_task(stack, file_wiring.file_sweep(chat.deps, settings), "file-sweep")
        assert isinstance(chat.deps.word_filters, CachedWordFilters)
        await chat.deps.word_filters.refresh()  # before the first post is accepted
        run_task(stack, chat.deps.word_filters.run(), "word-filters")
        # Posts hand their rows to the relay: the ones in flight commit before it stops.
        stack.push_async_callback(chat.posts.drain)
        await chat.hub.start()
        stack.push_async_callback(chat.hub.stop)
        # Before accepting: a token revoked while this replica was down is refused at once.
        await subscribed(stack, follow_revocations(chat.bus, chat.revoked,
                                                   on_revoked=chat.revocations.on_event))
        await subscribed(stack, subscribe_presence(chat.bus, chat.deps, chat.hub,
                                                   chat.presence))
        await subscribed(stack, consume_audit_events(chat.bus, chat.deps, settings))
        run_task(stack, publish_heartbeats(
            chat.bus, service="chat", instance_id=settings.replica_id, version=VERSION,
            started_at=chat.started_at, interval_secs=settings.service_heartbeat_secs,
            readiness=chat.readiness,
            details=lambda: {"sockets": chat.hub.socket_count}), "heartbeat")
        chat.accepting = True
        stack.callback(setattr, chat, "accepting", False)
        log.info("chat service started", extra={"fields": {"replica_id": settings.replica_id}})
        yield chat


async def _open_storage(stack: AsyncExitStack, chat: Chat) -> None:
    """The database, its schema, and the hot path's own connections (`_hot_path`)."""
    chat.deps.passwords = await load_password_policy()
    await open_database(stack, chat.db, SCHEMA,
                        auto_migrate=chat.settings.auto_migrate)
    await chat.post_log.start()
    stack.push_async_callback(chat.post_log.close)
    await chat.joins.start()
    stack.push_async_callback(chat.joins.close)


async def create_admin(settings: ChatSettings, username: str, password: str,
                       *, reset: bool = False) -> str:
    """`tertulia create-admin` (or, with `reset`, `tertulia set-password`): works without
    NATS; the outbox relays the events later."""
    from shared.bus.memory import InMemoryEventBus

    chat = wire(settings, bus=InMemoryEventBus())
    async with AsyncExitStack() as stack:
        await _open_storage(stack, chat)
        if reset:
            return await use_cases.set_password(chat.deps, username, password)
        return await use_cases.ensure_admin(chat.deps, username, password)


async def has_accounts(settings: ChatSettings) -> bool:
    """Whether anyone has an account yet (`tertulia up` says what the first one becomes)."""
    from sqlalchemy import select

    from services.chat.adapters.outbound.sqla_tables import users

    db = Database(settings.resolved_database_url())
    try:
        async with db.read() as conn:
            return (await conn.execute(select(users.c.id).limit(1))).first() is not None
    finally:
        await db.dispose()
