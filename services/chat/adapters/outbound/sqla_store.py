"""The chat unit of work over SQLAlchemy (its transaction bundles the stores of
`sqla_accounts`, `sqla_rooms` and `sqla_messages`) with its outbox writer (`shared/outbox.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_accounts import SqlaSessionStore, SqlaUserStore
from services.chat.adapters.outbound.sqla_audit import SqlaAuditLog
from services.chat.adapters.outbound.sqla_avatars import SqlaAvatarStore
from services.chat.adapters.outbound.sqla_dms import SqlaDmStore
from services.chat.adapters.outbound.sqla_files import SqlaFileStore, SqlaFileSweepStore
from services.chat.adapters.outbound.sqla_marks import (
    SqlaEditLog,
    SqlaPinStore,
    SqlaReactionStore,
)
from services.chat.adapters.outbound.sqla_messages import SqlaMessageStore
from services.chat.adapters.outbound.sqla_moderation import SqlaReportStore, SqlaSanctionStore
from services.chat.adapters.outbound.sqla_rooms import SqlaMemberStore, SqlaRoomStore
from services.chat.adapters.outbound.sqla_search import search_index
from services.chat.adapters.outbound.sqla_tables import outbox
from shared.db import Database
from shared.outbox import Committed, OutboxWriter, write_with_outbox


class SqlaChatTx:
    def __init__(self, session: AsyncConnection, source: str) -> None:
        self.session = session
        self.users = SqlaUserStore(session)
        self.rooms = SqlaRoomStore(session)
        self.members = SqlaMemberStore(session)
        self.messages = SqlaMessageStore(session)
        self.sessions = SqlaSessionStore(session)
        self.dms = SqlaDmStore(session)
        self.outbox = OutboxWriter(session, outbox, source)
        self.reactions = SqlaReactionStore(session)
        self.pins = SqlaPinStore(session)
        self.edits = SqlaEditLog(session)
        self.files = SqlaFileStore(session)
        self.file_sweep = SqlaFileSweepStore(session)
        self.search = search_index(session)
        self.avatars = SqlaAvatarStore(session)
        self.audit = SqlaAuditLog(session)
        self.sanctions = SqlaSanctionStore(session)
        self.reports = SqlaReportStore(session)


class SqlaChatUnitOfWork:
    """Transactions over SQLAlchemy; a write's outbox rows go to `committed` (the relay)
    right after its commit, in commit order."""

    def __init__(self, db: Database, source: str = "tertulia/chat",
                 committed: Committed | None = None) -> None:
        self._db = db
        self._source = source
        self._committed = committed

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlaChatTx]:
        async with write_with_outbox(self._db, lambda conn: SqlaChatTx(conn, self._source),
                                     self._committed) as tx:
            yield tx

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlaChatTx]:
        async with self._db.read() as session:
            yield SqlaChatTx(session, self._source)
