"""Full-text search over messages (issue 16): SQLite FTS5 or a PostgreSQL tsvector table,
kept by triggers on chat_messages, filled with the messages already there (not deleted).

Not SQLAlchemy tables (services/chat/adapters/outbound/search_schema.py makes the same on a
new database); the drift check sees only the code's tables.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

SQLITE = (
    "CREATE VIRTUAL TABLE chat_messages_fts USING fts5(content, content='chat_messages', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER chat_messages_fts_insert AFTER INSERT ON chat_messages "
    "WHEN NOT new.is_deleted BEGIN "
    "INSERT INTO chat_messages_fts (rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER chat_messages_fts_delete AFTER DELETE ON chat_messages "
    "WHEN NOT old.is_deleted BEGIN "
    "INSERT INTO chat_messages_fts (chat_messages_fts, rowid, content) "
    "VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER chat_messages_fts_update AFTER UPDATE OF content, is_deleted "
    "ON chat_messages WHEN old.content IS NOT new.content "
    "OR old.is_deleted IS NOT new.is_deleted BEGIN "
    "INSERT INTO chat_messages_fts (chat_messages_fts, rowid, content) "
    "SELECT 'delete', old.id, old.content WHERE NOT old.is_deleted; "
    "INSERT INTO chat_messages_fts (rowid, content) "
    "SELECT new.id, new.content WHERE NOT new.is_deleted; END",
    "INSERT INTO chat_messages_fts (rowid, content) "
    "SELECT id, content FROM chat_messages WHERE NOT is_deleted",
)

POSTGRESQL = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TABLE chat_messages_search ("
    "message_id BIGINT PRIMARY KEY REFERENCES chat_messages (id) ON DELETE CASCADE, "
    "document TSVECTOR NOT NULL)",
    "CREATE INDEX ix_chat_messages_search_document ON chat_messages_search "
    "USING gin (document)",
    "CREATE FUNCTION chat_messages_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF NEW.is_deleted THEN "
    "DELETE FROM chat_messages_search WHERE message_id = NEW.id; "
    "ELSE "
    "INSERT INTO chat_messages_search (message_id, document) "
    "VALUES (NEW.id, to_tsvector('simple', unaccent(NEW.content))) "
    "ON CONFLICT (message_id) DO UPDATE SET document = EXCLUDED.document; "
    "END IF; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER chat_messages_search_insert AFTER INSERT ON chat_messages "
    "FOR EACH ROW EXECUTE FUNCTION chat_messages_search_sync()",
    "CREATE TRIGGER chat_messages_search_update AFTER UPDATE OF content, is_deleted "
    "ON chat_messages FOR EACH ROW WHEN (OLD.content IS DISTINCT FROM NEW.content "
    "OR OLD.is_deleted IS DISTINCT FROM NEW.is_deleted) "
    "EXECUTE FUNCTION chat_messages_search_sync()",
    "INSERT INTO chat_messages_search (message_id, document) "
    "SELECT id, to_tsvector('simple', unaccent(content)) FROM chat_messages "
    "WHERE NOT is_deleted",
)


def upgrade() -> None:
    statements = SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS chat_messages_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS chat_messages_fts")
        return
    for trigger in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS chat_messages_search_{trigger} ON chat_messages")
    op.execute("DROP TABLE IF EXISTS chat_messages_search")
    op.execute("DROP FUNCTION IF EXISTS chat_messages_search_sync()")
