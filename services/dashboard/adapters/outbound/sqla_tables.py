"""The dashboard's own tables: per-minute counters, handled event ids, users, rooms,
storage totals, service instances and broadcasts (SQLAlchemy Core)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from shared.db import UtcDateTime

metadata = MetaData()

# Ids of the durable events already counted, so a redelivery counts nothing twice. `seq`:
# the EVENTS stream sequence that counted it (null: counted before instances shared this
# database), so another instance folding the same message knows it is that message.
processed_events = Table(
    "processed_events", metadata,
    Column("event_id", String(128), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
    Column("seq", BigInteger),
    Index("ix_processed_events_processed_at", "processed_at"),
)

# How far the database has folded EVENTS (one row, name "events"): every event up to `seq`
# is in it, written in the same transaction as the counts. Instances start folding after it.
fold_position = Table(
    "fold_position", metadata,
    Column("name", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# kind: messages (key room id), registrations, notifications (key reason), broadcast_inboxes.
minute_counts = Table(
    "minute_counts", metadata,
    Column("kind", String(32), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("minute", UtcDateTime, primary_key=True),
    Column("count", Integer, nullable=False),
    Index("ix_minute_counts_minute", "minute"),
)

rooms = Table(
    "rooms", metadata,
    Column("room_id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("is_private", Boolean, nullable=False),
)

users = Table(
    "users", metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=False),
    Column("username", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_at", UtcDateTime),
    Column("room_id", Integer),
    Column("registered_at", UtcDateTime),
)

# Storage used, per kind of file (attachment, avatar): running totals, never pruned.
storage_totals = Table(
    "storage_totals", metadata,
    Column("kind", String(32), primary_key=True),
    Column("bytes", BigInteger, nullable=False),
    Column("files", Integer, nullable=False),
)

service_instances = Table(
    "service_instances", metadata,
    Column("service", String(64), primary_key=True),
    Column("instance_id", String(128), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("interval_secs", Float, nullable=False),
    Column("ready", Boolean, nullable=False),
    Column("details", JSON, nullable=False),
)

broadcasts = Table(
    "broadcasts", metadata,
    Column("broadcast_id", String(64), primary_key=True),
    Column("content", Text, nullable=False),
    Column("sender", String(100), nullable=False),
    Column("sent_by", Integer, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("total_connections", Integer, nullable=False),
    Column("expected_replicas", JSON, nullable=False),
    # {replica_id: {"sockets": n, "users": n, "user_ids": [...]}}
    Column("receipts", JSON, nullable=False),
    Index("ix_broadcasts_sent_at", "sent_at"),
)
