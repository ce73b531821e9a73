"""The search index's schema, which is not SQLAlchemy tables: SQLite's FTS5 table and
PostgreSQL's tsvector table, each with the triggers on `chat_messages` that keep it.

Migration 0007 creates them on an existing database (its own copy of these statements, as
every migration is frozen); a new database is made from the tables (`create_all`), so the
same statements run after `chat_messages` is created. The migration tests check that both
ways give the same schema, triggers included."""

from __future__ import annotations

from sqlalchemy import DDL, Table, event

# The tables these statements make, by dialect (FTS5 adds its shadow tables to its own).
SEARCH_TABLES = {
    "sqlite": ("chat_messages_fts", "chat_messages_fts_config", "chat_messages_fts_data",
               "chat_messages_fts_docsize", "chat_messages_fts_idx"),
    "postgresql": ("chat_messages_search",),
}

SQLITE = (
    "CREATE VIRTUAL TABLE chat_messages_fts USING fts5(content, content='chat_messages', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    # A deleted message leaves the index; an edit replaces its words. Only a change of
    # content or deletion touches it (a root's reply count does not).
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
)



def attach(messages: Table) -> None:
    """Run the statements after `create_all` creates `messages` (sqla_tables does it)."""
    for statement in SQLITE:
        event.listen(messages, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in POSTGRESQL:
        event.listen(messages, "after_create",
                     DDL(statement).execute_if(dialect="postgresql"))
