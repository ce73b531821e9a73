"""The ports issue 17 added to run a community: live settings, invitations and the
administrators' directory; bots, their tokens and incoming webhooks; export and import; the
audit log; mutes, bans and reports; word filters and held messages. `ports.py` bundles them
into `ChatTx` and `ChatDeps` with the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from services.chat.domain import (
    Room,
    User,
)
from services.chat.domain.admin import Invitation, UserStatus
from services.chat.domain.audit import AuditEntry
from services.chat.domain.bots import BotToken, Hook
from services.chat.domain.export_format import ExportScope
from services.chat.domain.held import HeldMessage, HeldStatus
from services.chat.domain.moderation import Sanction, SanctionKind
from services.chat.domain.reports import Report, ReportStatus
from services.chat.domain.word_filter import FilterSet, WordFilterRule


class ServerSettingsStore(Protocol):
    """The live server settings an administrator changed (`chat_server_settings`)."""

    async def all(self) -> dict[str, Any]:
        """Each stored setting's value (decoded JSON), by name."""
        ...
    async def put(self, values: dict[str, Any], by: int | None, now: datetime) -> None:
        """Write (insert or replace) these settings' values."""
        ...


class InvitationStore(Protocol):
    async def add(self, token: str, created_by: int | None, now: datetime,
                  expires_at: datetime, max_uses: int) -> Invitation: ...
    async def get(self, invitation_id: int) -> Invitation | None: ...
    async def page(self, limit: int) -> list[Invitation]:
        """Newest first."""
        ...
    async def use(self, token: str, now: datetime) -> Invitation | None:
        """Count one use, in one statement, only if the invitation is usable now (not
        revoked, not expired, not used up): of two sign-ups on its last use, one gets it.
        None when it was not usable (nothing changed)."""
        ...
    async def revoke(self, invitation_id: int, now: datetime) -> Invitation | None:
        """Mark it revoked (a revoked one stays as it was); None when there is none."""
        ...
    async def by_token(self, token: str) -> Invitation | None: ...


class AdminDirectory(Protocol):
    """What administrators look through: every account and every room (never DMs)."""

    async def users(self, query: str, status: UserStatus, after_id: int | None,
                    limit: int) -> list[User]:
        """Accounts (never deleted ones) whose username or display name contains `query`
        (any case), by id after `after_id`."""
        ...
    async def rooms(self, query: str, archived: bool | None, after_id: int | None,
                    limit: int) -> list[tuple[Room, int]]:
        """Rooms (kind "room") whose name contains `query` (any case), archived or not
        (None: both), by id after `after_id`; each with its member count."""
        ...
    async def admins(self) -> list[int]:
        """The ids of the active administrators. Until this write transaction ends, another
        one asking waits (SQLite: the write lock; PostgreSQL: an advisory lock), so two
        role changes take turns with the "last administrator" rule."""
        ...


class BotStore(Protocol):
    """Bot accounts' listing and their tokens (`chat_bot_tokens`, by secret digest)."""

    async def bots(self) -> list[User]:
        """Every bot account (hooks' bots too), by id."""
        ...
    async def add_token(self, token: BotToken, digest: str) -> BotToken:
        """Store it (its id set) with the digest of its secret."""
        ...
    async def tokens_of(self, bot_id: int) -> list[BotToken]: ...
    async def revoke_token(self, bot_id: int, token_id: int, now: datetime) -> BotToken | None:
        """Mark it revoked (idempotent); None when the bot has no such token."""
        ...
    async def by_digest(self, digest: str) -> tuple[BotToken, User] | None:
        """The live token with this digest and its bot (any state: the caller checks)."""
        ...


class HookStore(Protocol):
    """A room's incoming webhooks (`chat_hooks`), found by their secret's digest."""

    async def add(self, hook: Hook, digest: str) -> Hook: ...
    async def of_room(self, room_id: int) -> list[Hook]:
        """The room's hooks that are not deleted, by id."""
        ...
    async def delete(self, room_id: int, hook_id: int, now: datetime) -> Hook | None:
        """Mark it deleted; None when the room has no such live hook."""
        ...
    async def by_digest(self, digest: str) -> Hook | None:
        """The hook with this digest that is not deleted."""
        ...


class SecretDigest(Protocol):
    """High-entropy secrets (bot tokens, hook URLs): made here, stored only as digests."""

    def new_secret(self, prefix: str) -> str: ...
    def digest(self, secret: str) -> str: ...


class ExportSource(Protocol):
    """What an export holds (docs/protocol.md, Export format), read from one consistent
    snapshot of the database."""

    def records(self, scope: ExportScope) -> AsyncIterator[dict[str, Any]]:
        """The scope's records in the format's order, without the header and the end line;
        each type read in pages by key (bounded queries), never all at once."""
        ...


class ImportSource(Protocol):
    """An export to import: its lines, read from the start on each call (the import reads
    twice: to check, then to write), and the bytes an archive holds."""

    def lines(self) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """(line number, the line's JSON object), from line 1."""
        ...
    async def blob(self, name: str) -> AsyncIterator[bytes] | None:
        """An archive member's bytes (`files/<id>`, `thumbnails/<id>`); None without one."""
        ...


class ImportTarget(Protocol):
    """The database an import fills (`tertulia import`)."""

    async def is_empty(self) -> bool:
        """No account, room or message yet."""
        ...
    async def load(self, records: AsyncIterator[dict[str, Any]],
                   note: AuditEntry | None = None,
                   events: Callable[[dict[str, Any]], Sequence[BaseModel]] | None = None
                   ) -> None:
        """Write the (checked, normalized) records in one transaction, ids kept, and `note`
        (the import's own audit entry) last; a database that is not empty by then is
        refused (`Conflict("not_empty")`). `events(record)`, asked of each record in the
        stream's order, gives the events to put in the outbox in the same transaction, in
        that order. Nothing is written when it raises."""
        ...


class AuditLog(Protocol):
    """Moderation and administration actions (`chat_audit`), each written in the action's
    own transaction, so both commit or neither does."""

    async def add(self, entry: AuditEntry) -> None: ...
    async def exists(self, entry: AuditEntry) -> bool:
        """An entry of the same action, target, actor and instant is there already (an
        `AuditRecorded` event applied before: its redelivery)."""
        ...
    async def page(self, *, before_id: int | None, limit: int, action: str | None = None,
                   actor_id: int | None = None, room_id: int | None = None
                   ) -> list[AuditEntry]:
        """Newest first (by id, below `before_id`), with `actor_username` read."""
        ...


class SanctionStore(Protocol):
    """Mutes and bans (`chat_sanctions`). A mute's end is also copied where the post path
    reads anyway (`users.muted_until`, `room_members.muted_until`): `put` and `remove`
    keep the copy, so the check costs no round trip."""

    async def put(self, sanction: Sanction) -> None:
        """Add it, replacing the same kind of sanction of the user in the same scope."""
        ...
    async def remove(self, kind: SanctionKind, room_id: int | None,
                     user_id: int) -> Sanction | None: ...
    async def get(self, kind: SanctionKind, room_id: int | None,
                  user_id: int) -> Sanction | None: ...
    async def in_force(self, kind: SanctionKind, room_id: int | None,
                       now: datetime) -> list[Sanction]:
        """The scope's sanctions of that kind not yet ended, with `username`, oldest first."""
        ...


class ReportStore(Protocol):
    async def add(self, report: Report) -> None:
        """Sets `report.id`; `Conflict("already_reported")` when the reporter has an open
        report of the message."""
        ...
    async def get(self, report_id: int) -> Report | None:
        """Held until the transaction ends (PostgreSQL: FOR UPDATE): one resolution wins."""
        ...
    async def resolve(self, report: Report) -> bool: ...
    async def page(self, *, status: ReportStatus, room_id: int | None,
                   moderated_by: int | None, before_id: int | None,
                   limit: int) -> list[Report]: ...
    async def audience(self, room_id: int) -> list[int]:
        """The room's moderators and admins and the server's administrators (user ids)."""
        ...


class WordFilterStore(Protocol):
    """Word-filter rules (`chat_word_filters`); a removed rule keeps its row."""

    async def add(self, rule: WordFilterRule) -> WordFilterRule: ...
    async def remove(self, rule_id: int, room_id: int | None,
                     now: datetime) -> WordFilterRule | None:
        """Remove a live rule of that scope (room_id None: the server's); None if none."""
        ...
    async def live(self, room_id: int | None, *, every_scope: bool = False
                   ) -> list[WordFilterRule]:
        """The scope's live rules, oldest first; `every_scope`: all of them."""
        ...
    async def stamp(self) -> tuple[int, int]:
        """Changes with every add and remove (the highest id, the removed count): what a
        replica's cache compares to know whether to read the rules again."""
        ...


class HeldMessageStore(Protocol):
    """Posts a `hold` rule stopped (`chat_held_messages`)."""

    async def add(self, held: HeldMessage) -> HeldMessage: ...
    async def get(self, held_id: int | None = None, *, user_id: int | None = None,
                  client_msg_id: str | None = None, lock: bool = False) -> HeldMessage | None:
        """By id, or a user's by `client_msg_id` (a retried post); with the author's name."""
        ...
    async def page(self, *, status: HeldStatus, room_id: int | None,
                   moderator_id: int | None, before_id: int | None,
                   limit: int) -> list[HeldMessage]:
        """Newest first; `moderator_id`: only rooms where that user is a moderator/admin."""
        ...
    async def decide(self, held: HeldMessage) -> None:
        """Write `status`, `decided_by`, `decided_at`, `note`, `message_id`."""
        ...


class WordFilterCache(Protocol):
    """This replica's compiled rules (`FilterSet`), read without I/O on every post."""

    def current(self) -> FilterSet: ...
    async def refresh(self) -> None:
        """Read the rules again now if they changed (after a change made here)."""
        ...
