"""The interfaces the chat core needs; adapters implement them (SQLAlchemy, NATS, argon2...).

Longer than 300 lines because it is the one list of the ports of the core's chat itself
(the stores a transaction bundles, the blob store, the hot path's), so what a use case may
touch is read in one place; those of moderation, administration, integrations and export
are in `community_ports.py`, re-exported here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from services.chat.community_ports import (
    AdminDirectory as AdminDirectory,
)
from services.chat.community_ports import (
    AuditLog as AuditLog,
)
from services.chat.community_ports import (
    BotStore as BotStore,
)
from services.chat.community_ports import (
    ExportSource as ExportSource,
)
from services.chat.community_ports import (
    HeldMessageStore as HeldMessageStore,
)
from services.chat.community_ports import (
    HookStore as HookStore,
)
from services.chat.community_ports import (
    ImportSource as ImportSource,
)
from services.chat.community_ports import (
    ImportTarget as ImportTarget,
)
from services.chat.community_ports import (
    InvitationStore as InvitationStore,
)
from services.chat.community_ports import (
    ReportStore as ReportStore,
)
from services.chat.community_ports import (
    SanctionStore as SanctionStore,
)
from services.chat.community_ports import (
    SecretDigest as SecretDigest,
)
from services.chat.community_ports import (
    ServerSettingsStore as ServerSettingsStore,
)
from services.chat.community_ports import (
    WordFilterCache as WordFilterCache,
)
from services.chat.community_ports import (
    WordFilterStore as WordFilterStore,
)
from services.chat.domain import (
    AuthSession,
    Frame,
    Member,
    Message,
    PasswordPolicy,
    Presence,
    Role,
    Room,
    Unread,
    User,
)
from services.chat.domain.admin import SettingsCache
from services.chat.domain.files import StoredFile
from services.chat.domain.marks import MessageEdit, MessageMarks, Pin
from services.chat.domain.search import SearchQuery
from services.chat.post_plan import BatchPlan, PostContext, PostOutcome, PostRequest


class UserStore(Protocol):
    async def add(self, username: str, display_name: str | None, password_hash: str,
                  is_admin: bool, now: datetime, *, is_bot: bool = False) -> User: ...
    async def get(self, user_id: int, *, lock: bool = False) -> User | None:
        """With `lock`, the row is held until the transaction ends (PostgreSQL: FOR SHARE), so
        a sign-in and a deactivation of the same account take turns."""
        ...
    async def by_username(self, username: str) -> tuple[User, str] | None: ...
    async def set_admin(self, user_id: int, password_hash: str | None) -> None: ...
    async def none_yet(self) -> bool:
        """No account exists. Until this write transaction ends, another one asking waits
        (SQLite: the write lock; PostgreSQL: an advisory lock), so of two first sign-ups
        only one hears True."""
        ...
    async def update_account(self, user: User, password_hash: str | None = None) -> None:
        """Write `display_name`, `status_text`, `time_zone`, `is_admin`, `deactivated_at`,
        `deleted_at` (and the password hash, when given)."""
        ...


class SessionStore(Protocol):
    async def add(self, session: AuthSession) -> None: ...
    async def revoke(self, session_id: str, now: datetime, reason: str) -> AuthSession | None:
        """Revoke one session; None if unknown, already revoked or expired."""
        ...
    async def revoke_all(self, user_id: int, now: datetime, reason: str) -> list[AuthSession]:
        """Revoke every live session of the user; the ones revoked now."""
        ...


class RoomStore(Protocol):
    async def add(self, name: str, description: str | None, is_private: bool,
                  created_by: int | None, now: datetime) -> Room: ...
    async def get(self, room_id: int, *, lock: bool = False) -> Room | None:
        """With `lock`, the row is held until the transaction ends (PostgreSQL: FOR UPDATE,
        as a batch of posts holds it), so joins and sanctions of the room take turns."""
        ...
    async def with_member(self, room_id: int, user_id: int | None
                          ) -> tuple[Room | None, Member | None]:
        """The room and the user's membership in one read (the per-message hot path)."""
        ...
    async def by_name(self, name: str) -> Room | None: ...
    async def update(self, room: Room) -> None: ...
    async def visible_to(self, user_id: int | None) -> list[Room]: ...


class MemberStore(Protocol):
    async def get(self, room_id: int, user_id: int) -> Member | None: ...
    async def add(self, member: Member) -> None: ...
    async def remove(self, room_id: int, user_id: int) -> None: ...
    async def list(self, room_id: int) -> list[Member]: ...
    async def rooms_of(self, user_id: int) -> list[int]: ...
    async def set_role(self, room_id: int, user_id: int, role: Role) -> None: ...
    async def set_read_seq(self, room_id: int, user_id: int, seq: int) -> None: ...


class DmStore(Protocol):
    """Direct messages (`Room.kind == "dm"`) and the people who may be in one."""

    async def add(self, key: str, name: str, created_by: int, now: datetime) -> Room:
        """A private room of kind `dm` with this unique key; `Conflict("dm_exists")` when a
        DM has it (another opener's transaction committed it first)."""
        ...
    async def by_key(self, key: str) -> Room | None: ...
    async def members_of(self, room_ids: list[int]) -> dict[int, list[Member]]:
        """Each room's members in joining order (every id given is a key)."""
        ...
    async def people(self, prefix: str, limit: int) -> list[User]:
        """Active accounts whose username starts with `prefix` (any case), by username."""
        ...


class MessageStore(Protocol):
    async def get(self, message_id: int) -> Message | None: ...
    async def update(self, message: Message) -> None: ...
    async def page(self, room_id: int, *, before_seq: int | None, after_seq: int | None,
                   limit: int, timeline: bool = False) -> list[Message]:
        """Every message of the room in the range; with `timeline`, thread-only replies
        are left out (`domain.in_room_timeline`)."""
        ...
    async def thread_seqs(self, room_id: int, from_seq: int, to_seq: int | None) -> list[int]:
        """The seqs of the room's thread-only replies in `[from_seq, to_seq]`."""
        ...
    async def replies(self, root_id: int, *, after_seq: int | None,
                      limit: int) -> list[Message]:
        """The thread's replies, oldest first."""
        ...
    async def unread(self, user_id: int) -> list[Unread]:
        """Per member room: others' messages of the room's timeline after the read marker
        (not deleted), and the mentions among them."""
        ...


class ReactionStore(Protocol):
    async def counts(self, message_id: int) -> dict[str, int]:
        """Emoji → how many reacted with it. Holds the message's row until the transaction
        ends (PostgreSQL: FOR UPDATE), so two reactions to it take turns with the bound."""
        ...
    async def add(self, message_id: int, room_id: int, user_id: int, emoji: str,
                  now: datetime) -> bool:
        """False when the user already reacted with that emoji (nothing written)."""
        ...
    async def remove(self, message_id: int, user_id: int, emoji: str) -> bool: ...
    async def marks(self, message_ids: Sequence[int]) -> MessageMarks:
        """The messages' reactions and pins in one query (a page: one round trip)."""
        ...


class PinStore(Protocol):
    async def pin(self, pin: Pin) -> bool:
        """False when the message is pinned already (the first pin stays)."""
        ...
    async def unpin(self, message_id: int) -> Pin | None: ...
    async def of_room(self, room_id: int, limit: int) -> list[Message]:
        """The room's pinned messages that are not deleted, newest pin first, `pin` set."""
        ...


class EditLog(Protocol):
    async def add(self, edit: MessageEdit) -> None: ...
    async def of_message(self, message_id: int, limit: int) -> list[MessageEdit]:
        """Newest first, with the editor's username."""
        ...


class SearchIndex(Protocol):
    """Full-text search over messages, kept by the database in each message's own
    transaction (triggers), so an edit or a deletion is searchable as it commits."""

    async def find(self, query: SearchQuery, room_ids: Sequence[int], *, relevance: bool,
                   limit: int, before_id: int | None = None, offset: int = 0
                   ) -> list[Message]:
        """Messages of `room_ids` (the rooms the reader may read) matching every term and
        filter of `query`, never a deleted one. Newest first (by id, below `before_id`), or
        with `relevance` best first (skipping `offset`). `query.room` is the caller's."""
        ...


class Outbox(Protocol):
    async def add(self, event: BaseModel, now: datetime) -> None:
        """Record a domain event in the same transaction as the change it describes."""
        ...


class FileStore(Protocol):
    """The rows of uploaded files (`chat_files`); their bytes are in the `BlobStore`."""

    async def add(self, file: StoredFile) -> None: ...
    async def get(self, file_id: str) -> StoredFile | None: ...
    async def usage(self, user_id: int, *, lock: bool = False) -> int:
        """Bytes of the user's live files (not deleted). With `lock`, the user's row is held
        until the transaction ends (PostgreSQL: FOR UPDATE), so two uploads of one user
        take turns with the quota."""
        ...
    async def of_messages(self, message_ids: Sequence[int]) -> dict[int, list[StoredFile]]:
        """The live files attached to each message, in attaching order (one query; messages
        with none are absent)."""
        ...
    async def mark_deleted(self, *, message_id: int | None = None, file_id: str | None = None,
                           now: datetime) -> list[StoredFile]:
        """Mark the message's files (or the one file) deleted; the ones marked now. Their
        blobs stay until the sweep (`use_cases/file_sweep.py`) removes them."""
        ...


class FileSweepStore(Protocol):
    """What the periodic sweep of files needs (any replica may run it at any time)."""

    async def expire_unattached(self, created_before: datetime, now: datetime) -> int:
        """Mark attachments never attached and created before then deleted; how many."""
        ...
    async def removable(self, deleted_before: datetime, limit: int) -> list[StoredFile]:
        """Deleted files whose blobs may go: deleted before then, or never attached."""
        ...
    async def remove(self, file_id: str) -> bool:
        """Delete the row; False when another sweep did already."""
        ...


class BlobStore(Protocol):
    """Bytes by key (a file id, or a thumbnail's key): a data directory, or a JetStream
    Object Store bucket (`CHAT_BLOBS`)."""

    async def put_file(self, key: str, path: Path) -> None:
        """Store the local file's bytes under `key`. The store may move the file away;
        the caller removes it if it is still there."""
        ...
    async def put_chunks(self, key: str, chunks: AsyncIterator[bytes]) -> None: ...
    async def open(self, key: str) -> AsyncIterator[bytes] | None:
        """The blob's bytes in chunks, or None when there is no such blob."""
        ...
    async def delete(self, key: str) -> None:
        """Remove the blob; nothing happens when there is none (idempotent)."""
        ...
    async def exists(self, key: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class SpooledUpload:
    """An upload's bytes in a local temp file, as the inbound adapter streamed them."""

    path: Path
    size: int
    sha256: str
    head: bytes  # the first `domain.files.SNIFF_BYTES`, for sniffing
    name: str | None
    declared_type: str | None


@dataclass(frozen=True, slots=True)
class FileLimits:
    max_bytes: int = 25 * 1024 * 1024
    quota_bytes: int = 1024 * 1024 * 1024
    thumbnail_px: int = 400
    retention_secs: float = 7 * 86_400.0
    unattached_ttl_secs: float = 86_400.0


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int
    height: int


class ImageProcessor(Protocol):
    """Reads and scales raster images (Pillow), off the event loop."""

    async def inspect(self, path: Path) -> ImageInfo:
        """The image's size, read from its header before anything is decoded: more pixels
        than allowed → `Invalid("image_too_large")`; not a readable image of the sniffed
        type → `Invalid("content_type_mismatch")`."""
        ...
    async def thumbnail(self, path: Path, dest: Path, max_side: int) -> bool:
        """Write a WebP of the image scaled to fit `max_side` (never enlarged) to `dest`;
        False (nothing written) when the image cannot be decoded."""
        ...
    async def square(self, path: Path, dest: Path, side: int) -> None:
        """Crop the image to its centred square, scale it to `side`, write a PNG (avatars)."""
        ...


class AvatarStore(Protocol):
    """Each user's current avatar (`users.avatar_file_id`, a `chat_files` row of kind
    "avatar")."""

    async def avatar_of(self, user_id: int) -> str | None: ...
    async def set_avatar(self, user_id: int, file_id: str | None) -> None: ...
    async def avatars_of(self, user_ids: Sequence[int]) -> dict[int, str]:
        """The avatar file id of each of these users that has one (one query)."""
        ...


class ChatTx(Protocol):
    """One database transaction with every store the core writes to."""

    users: UserStore
    rooms: RoomStore
    members: MemberStore
    messages: MessageStore
    sessions: SessionStore
    dms: DmStore
    outbox: Outbox
    reactions: ReactionStore
    pins: PinStore
    edits: EditLog
    files: FileStore
    file_sweep: FileSweepStore
    search: SearchIndex
    avatars: AvatarStore
    server_settings: ServerSettingsStore
    invitations: InvitationStore
    directory: AdminDirectory
    bots: BotStore
    hooks: HookStore
    audit: AuditLog
    sanctions: SanctionStore
    reports: ReportStore
    word_filters: WordFilterStore
    held: HeldMessageStore


class ChatUnitOfWork(Protocol):
    def write(self) -> AbstractAsyncContextManager[ChatTx]:
        """Commits when the block ends normally; rolls back everything on an exception."""
        ...

    def read(self) -> AbstractAsyncContextManager[ChatTx]: ...


class PostLog(Protocol):
    """Stores a batch of posts in one write transaction (the message hot path)."""

    async def commit(self, requests: Sequence[PostRequest],
                     plan: Callable[[Sequence[PostRequest], PostContext], BatchPlan],
                     now: datetime) -> Sequence[PostOutcome]:
        """Read the batch's `PostContext` under the write lock, let `plan` decide, write the
        plan, commit, and hand the committed events to the outbox publisher. One outcome per
        request, in order; raises (and stores nothing) if the transaction fails."""
        ...


@dataclass(slots=True)
class JoinView:
    """What a socket's join needs of the database, read in one transaction."""

    room: Room | None
    member: Member | None  # the joining user's membership, if any
    messages: list[Message]  # oldest first
    recovered: bool  # True: `messages` are everything after `since_seq`
    members: list[tuple[int, str]]  # (user_id, username) of every member, in joining order


class JoinReader(Protocol):
    """The connect hot path's read: the room, the user's membership, the replay, the members."""

    async def read(self, room_id: int, user_id: int | None, since_seq: int | None, *,
                   replay_max: int, history: int) -> JoinView:
        """`messages` are those after `since_seq` when there are at most `replay_max` of
        them (`recovered`); otherwise, or without `since_seq`, the latest `history`. With no
        such room, `room` is None and the rest empty."""
        ...


class LiveFeed(Protocol):
    """Best-effort fan-out of frames to sockets on every chat replica."""

    async def to_room(self, room_id: int, frame: Frame) -> None: ...
    async def to_room_many(self, room_id: int, frames: Sequence[Frame]) -> None:
        """Several frames for one room, in order (a batch of posts): one publish for the
        other replicas. The frames exclude no one."""
        ...
    async def to_user(self, user_id: int, frame: Frame) -> None: ...
    async def to_everyone(self, frame: Frame) -> None: ...


class PresenceDirectory(Protocol):
    """Asks the presence service; answers nothing (an empty list) when it is unreachable."""

    async def lookup(self, user_ids: list[int]) -> list[Presence]: ...


class SessionRevocations(Protocol):
    """What this replica does at once when it revokes sessions (the other replicas and
    services hear `events.chat.session.revoked`)."""

    async def revoked(self, sessions: Sequence[AuthSession]) -> None:
        """Refuse their tokens from now on and close their sockets with 4001."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str, password: str) -> bool: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(slots=True)
class ChatDeps:
    """Everything a use case may touch; `bootstrap.wire` builds it, tests pass fakes."""

    uow: ChatUnitOfWork
    live: LiveFeed
    hasher: PasswordHasher
    clock: Clock
    # Posts go through the group commit (`services.chat.posting.PostQueue`).
    post: Callable[[PostRequest], Awaitable[PostOutcome]]
    joins: JoinReader
    history_on_join: int = 50
    recovery_max_messages: int = 1000
    source: str = "tertulia/chat"
    presence: PresenceDirectory | None = None
    # The bundled common-password list is loaded at start (`bootstrap.start`).
    passwords: PasswordPolicy = field(default_factory=PasswordPolicy)
    revocations: SessionRevocations | None = None
    session_ttl_secs: int = 3600
    reactions_max_per_message: int = 20
    # Uploads (`use_cases/uploads.py`): without a blob store, file endpoints answer 404.
    blobs: BlobStore | None = None
    images: ImageProcessor | None = None
    files: FileLimits = field(default_factory=FileLimits)
    # Word filters (`use_cases/word_filters.py`); None: no filtering at all.
    word_filters: WordFilterCache | None = None
    # Live server settings (`use_cases/server_settings.py`): the defaults (from the
    # environment), and this replica's copy of the stored ones.
    live_settings: SettingsCache = field(default_factory=SettingsCache)
    # Bot tokens and hook secrets (`use_cases/bots.py`); `bootstrap.wire` sets SHA-256.
    secrets: SecretDigest | None = None
    # Export (`use_cases/export.py`): without one, the export endpoints answer 404.
    exports: ExportSource | None = None

