"""The chat service's tables (the exercise's names and fields, plus seq, read markers, outbox)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false

from services.chat.adapters.outbound.search_schema import attach as attach_search
from shared.db import BigId, UtcDateTime
from shared.outbox import outbox_table

metadata = MetaData()

# Every change to a table here comes with a migration (services/chat/migrations/; the
# drift test in tests/integration/shared/test_migrations.py fails without one).

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(32), nullable=False),
    # Lower-cased copy: "Alice" and "alice" are one account name.
    Column("username_key", String(32), nullable=False, unique=True),
    Column("display_name", String(100)),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Added after the first release; the baseline migration adds them to an older table.
    Column("deactivated_at", UtcDateTime),
    Column("deleted_at", UtcDateTime),
    # The profile (migration 0002): one line of status, an IANA time zone name.
    Column("status_text", String(100)),
    Column("time_zone", String(64)),
    # The current avatar, a `chat_files` row of kind "avatar" (migration 0006); no foreign
    # key, so the two tables do not point at each other.
    Column("avatar_file_id", String(32)),
    # A server-wide mute's end (migration 0008; 9999-12-31: until lifted), read with the
    # poster's display name on the post path, so the check costs no round trip.
    Column("muted_until", UtcDateTime),
)

# One row per sign-in; a token's `sid` is its id. Revoked rows stay until they expire.
user_sessions = Table(
    "user_sessions", metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("revoked_reason", String(20)),
    Index("ix_user_sessions_user", "user_id"),
)

chat_rooms = Table(
    "chat_rooms", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("description", Text),
    Column("is_private", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    # The per-room sequence: bumped in the message's own transaction.
    Column("last_seq", BigInteger, nullable=False, default=0),
    # "room" or "dm"; a DM's `dm_key` is its people's sorted ids ("3,7,12"), unique, so two
    # people opening the same DM at once still make one (migration 0003).
    Column("kind", String(10), nullable=False, default="room", server_default="room"),
    Column("dm_key", String(100)),
    # Slow mode (migration 0008): one post per member per this many seconds; 0 is off.
    Column("slow_mode_secs", Integer, nullable=False, default=0, server_default=text("0")),
    UniqueConstraint("dm_key", name="uq_chat_rooms_dm_key"),
)

room_members = Table(
    "room_members", metadata,
    Column("id", Integer, primary_key=True),
    Column("room_id", Integer, ForeignKey("chat_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(20), nullable=False, default="member"),
    Column("joined_at", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("read_seq", BigInteger, nullable=False, default=0),
    # Migration 0008: the room mute's end (a copy of its chat_sanctions row, read by the post
    # path with the membership), and the last post (written only in slow-mode rooms).
    Column("muted_until", UtcDateTime),
    Column("last_post_at", UtcDateTime),
    UniqueConstraint("room_id", "user_id", name="uq_room_members_room_user"),
    Index("ix_room_members_user", "user_id"),
)

chat_messages = Table(
    "chat_messages", metadata,
    Column("id", BigId, primary_key=True),
    Column("room_id", Integer, ForeignKey("chat_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("username", String(32), nullable=False),
    Column("content", Text, nullable=False),
    Column("message_type", String(20), nullable=False, default="text"),
    Column("client_msg_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("edited_at", UtcDateTime),
    Column("is_deleted", Boolean, nullable=False, default=False),
    # Threads (migration 0004): a reply's root; a root's count and latest reply, moved in
    # the reply's own transaction.
    Column("thread_root_id", BigInteger),
    Column("also_send_to_room", Boolean, nullable=False, default=False,
           server_default=sa_false()),
    Column("reply_count", Integer, nullable=False, default=0, server_default=text("0")),
    Column("last_reply_at", UtcDateTime),
    UniqueConstraint("room_id", "seq", name="uq_chat_messages_room_seq"),
    UniqueConstraint("user_id", "client_msg_id", name="uq_chat_messages_client_msg"),
    Index("ix_chat_messages_thread_seq", "thread_root_id", "seq"),
)

# The search index (migration 0007): not tables of this metadata, made with chat_messages.
attach_search(chat_messages)

message_mentions = Table(
    "message_mentions", metadata,
    Column("message_id", BigId, ForeignKey("chat_messages.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("room_id", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Index("ix_message_mentions_user_room_seq", "user_id", "room_id", "seq"),
)

# One row per (message, user, emoji): PUT twice is one reaction.
message_reactions = Table(
    "message_reactions", metadata,
    Column("message_id", BigId, ForeignKey("chat_messages.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("emoji", String(64), primary_key=True),
    Column("room_id", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

message_pins = Table(
    "message_pins", metadata,
    Column("message_id", BigId, ForeignKey("chat_messages.id", ondelete="CASCADE"),
           primary_key=True),
    Column("room_id", Integer, ForeignKey("chat_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("pinned_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("pinned_at", UtcDateTime, nullable=False),
    Index("ix_message_pins_room_pinned_at", "room_id", "pinned_at"),
)

# Every edit and deletion of a message, written in its transaction; read by moderators.
message_edits = Table(
    "message_edits", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", BigId, ForeignKey("chat_messages.id", ondelete="CASCADE"),
           nullable=False),
    Column("room_id", Integer, nullable=False),
    Column("editor_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("action", String(10), nullable=False),
    Column("previous_content", Text, nullable=False),
    Column("new_content", Text),
    Column("edited_at", UtcDateTime, nullable=False),
    Index("ix_message_edits_message", "message_id", "id"),
)

# Uploaded files (migration 0006): the bytes are the BlobStore's blob `id` (and the
# thumbnail's, `thumbnail_key`). A post attaches a file by setting message_id and room_id
# in its own transaction; deleted_at set, the sweep removes blobs and row after retention.
chat_files = Table(
    "chat_files", metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("thumbnail_key", String(64)),
    Column("kind", String(10), nullable=False, default="attachment"),
    Column("message_id", BigId, ForeignKey("chat_messages.id", ondelete="SET NULL")),
    Column("room_id", Integer, ForeignKey("chat_rooms.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("deleted_at", UtcDateTime),
    Index("ix_chat_files_message", "message_id"),
    Index("ix_chat_files_user", "user_id"),
    Index("ix_chat_files_deleted_at", "deleted_at"),
)

# The audit log (migration 0008): moderation and administration actions, newest by id.
# `details` is a JSON object (text). No foreign keys: the log outlives what it names.
chat_audit = Table(
    "chat_audit", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", Integer),
    Column("action", String(40), nullable=False),
    Column("target_type", String(20), nullable=False),
    Column("target_id", String(64)),
    Column("room_id", Integer),
    Column("reason", Text),
    Column("details", Text, nullable=False, default="{}"),
    Index("ix_chat_audit_action", "action", "id"),
    Index("ix_chat_audit_actor", "actor_id", "id"),
    Index("ix_chat_audit_room", "room_id", "id"),
)

# Mutes and bans (migration 0008): one row per (kind, scope, user); room_id 0 is
# server-wide (so the key has no NULL). `until` NULL: until lifted. A row whose `until` has
# passed is out of force (compared with the clock); lifting deletes it.
chat_sanctions = Table(
    "chat_sanctions", metadata,
    Column("kind", String(10), primary_key=True),
    Column("room_id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("until", UtcDateTime),
    Column("reason", Text),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_chat_sanctions_user", "user_id"),
)

# Reports of messages (migration 0008); one open report per (reporter, message).
chat_reports = Table(
    "chat_reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", BigId, ForeignKey("chat_messages.id", ondelete="CASCADE"),
           nullable=False),
    Column("room_id", Integer, ForeignKey("chat_rooms.id", ondelete="CASCADE"), nullable=False),
    Column("reporter_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(10), nullable=False, default="open"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("resolution", String(10)),
    Column("note", Text),
    # NULL once resolved: unique while open, so a reporter has one open report a message.
    Column("open_key", String(40)),
    UniqueConstraint("open_key", name="uq_chat_reports_open_key"),
    Index("ix_chat_reports_status_room", "status", "room_id", "id"),
)

outbox = outbox_table(metadata)
