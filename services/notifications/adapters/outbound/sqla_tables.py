"""The notifications service's tables: its projection of chat, the inbox, decisions, outbox.

Every name starts with `ntf_`, so the service can share a PostgreSQL database with the others
without a clash, although by design it owns one of its own.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shared.db import BigId, UtcDateTime
from shared.outbox import outbox_table

metadata = MetaData()


# --- the projection of chat ------------------------------------------------------------------

users = Table(
    "ntf_users", metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(64), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    # From user.registered and user.updated (migration 0003): titles use it.
    Column("display_name", String(100)),
)

rooms = Table(
    "ntf_rooms", metadata,
    Column("room_id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("is_private", Boolean, nullable=False, default=False),
    # "room" or "dm" (chat's RoomCreated.kind; migration 0003): a DM notifies every message.
    Column("kind", String(10), nullable=False, default="room", server_default="room"),
)

members = Table(
    "ntf_members", metadata,
    Column("room_id", Integer, primary_key=True, autoincrement=False),
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("read_seq", BigInteger, nullable=False, default=0),
    # A user's rooms: what their preferences may name.
    Index("ix_ntf_members_user", "user_id"),
)

# Who takes part in each thread (migration 0004): fed by `message.created` of replies.
thread_participants = Table(
    "ntf_thread_participants", metadata,
    Column("root_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", Integer, primary_key=True, autoincrement=False),
)

# --- what users chose, and what they got ------------------------------------------------------

preferences = Table(
    "ntf_preferences", metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("room_id", Integer, primary_key=True, autoincrement=False),
    Column("level", String(20), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

notifications = Table(
    "ntf_notifications", metadata,
    # Ids are "ntf_<pk>": AUTOINCREMENT so SQLite never hands out a deleted row's id again.
    Column("pk", BigId, primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    Column("content", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("room_id", Integer),
    Column("message_id", BigInteger),
    Column("seq", BigInteger),
    Column("broadcast_id", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read", Boolean, nullable=False, default=False),
    Column("read_at", UtcDateTime),
    # At most one notification per (user, message) and per (user, broadcast); NULLs differ.
    UniqueConstraint("user_id", "message_id", name="uq_ntf_notifications_user_message"),
    UniqueConstraint("user_id", "broadcast_id", name="uq_ntf_notifications_user_broadcast"),
    Index("ix_ntf_notifications_user_pk", "user_id", "pk"),
    Index("ix_ntf_notifications_user_read", "user_id", "read"),
    Index("ix_ntf_notifications_message", "message_id"),
    Index("ix_ntf_notifications_read_created", "read", "created_at"),
    sqlite_autoincrement=True,
)

decisions = Table(
    "ntf_decisions", metadata,
    Column("pk", BigId, primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("room_id", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("suppressed_by", String(30)),
    Column("notification_id", String(40)),
    Column("decided_at", UtcDateTime, nullable=False),
    UniqueConstraint("user_id", "message_id", name="uq_ntf_decisions_user_message"),
    Index("ix_ntf_decisions_message", "message_id"),
    Index("ix_ntf_decisions_decided", "decided_at"),
)

# --- delivery bookkeeping ---------------------------------------------------------------------

processed_events = Table(
    "ntf_processed_events", metadata,
    Column("event_id", String(200), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
    Index("ix_ntf_processed_events_at", "processed_at"),
)

dead_letters = Table(
    "ntf_dead_letters", metadata,
    Column("pk", BigId, primary_key=True),
    Column("event_id", String(200), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", UtcDateTime, nullable=False),
)

# --- outgoing webhooks (migration 0005) -------------------------------------------------------

webhooks = Table(
    "ntf_webhooks", metadata,
    Column("id", BigId, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("room_ids", JSON, nullable=False),
    Column("events", JSON, nullable=False),
    # Signs every delivery (HMAC), so kept as it is; shown once, at creation.
    Column("secret", String(100), nullable=False),
    Column("created_by", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered", BigInteger, nullable=False, default=0),
    Column("failed_attempts", BigInteger, nullable=False, default=0),
    Column("dead_lettered", BigInteger, nullable=False, default=0),
    Column("last_success_at", UtcDateTime),
    Column("last_failure_at", UtcDateTime),
    Column("last_error", String(500)),
    sqlite_autoincrement=True,
)

outbox = outbox_table(metadata, "ntf_outbox")
