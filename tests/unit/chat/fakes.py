"""In-memory stand-ins for the chat ports, behaving like the SQLAlchemy adapter where it shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel

from services.chat.adapters.frames import frame_data
from services.chat.domain import (
    AuthSession,
    Conflict,
    Frame,
    Member,
    Message,
    PasswordPolicy,
    Role,
    Room,
    Unread,
    User,
    in_room_timeline,
)
from services.chat.domain.audit import AuditEntry
from services.chat.domain.marks import MessageEdit, Pin
from services.chat.domain.moderation import FOREVER, Sanction
from services.chat.domain.reports import Report
from services.chat.domain.stored_file import StoredFile
from services.chat.ports import ChatDeps, JoinView
from services.chat.post_plan import (
    BatchPlan,
    PostContext,
    PostOutcome,
    PostRequest,
    roots_wanted,
)
from services.chat.posting import PostQueue
from tests.support.clocks import T0 as T0  # the fakes' start, imported by the tests from here
from tests.support.clocks import FixedClock
from tests.support.memory_uow import MemoryStore, MemoryUnitOfWork, RecordingOutbox
from tests.unit.chat.dm_fakes import InMemoryDmStore
from tests.unit.chat.fakes_files import InMemoryFileStore
from tests.unit.chat.fakes_marks import InMemoryEditLog, InMemoryPinStore, InMemoryReactionStore
from tests.unit.chat.fakes_moderation import (
    InMemoryAuditLog,
    InMemoryReportStore,
    InMemorySanctionStore,
)


class IntegrityViolation(Exception):
    """A constraint the real database enforces and no use case should ever trip."""


@dataclass
class ChatState:
    """The tables. `write()` deep-copies this to roll back."""

    users: dict[int, User] = field(default_factory=dict)
    password_hashes: dict[int, str] = field(default_factory=dict)
    rooms: dict[int, Room] = field(default_factory=dict)
    # Insertion order stands in for room_members.id, which orders `list()`.
    members: dict[tuple[int, int], Member] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    # (message_id, user_id) -> (room_id, seq): rows only for mentioned members, never the author.
    mentions: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    sessions: dict[str, AuthSession] = field(default_factory=dict)
    events: list[BaseModel] = field(default_factory=list)
    # (message_id, user_id, emoji) -> (room_id, created_at); message_id -> Pin; the edits.
    reactions: dict[tuple[int, int, str], tuple[int, datetime]] = field(default_factory=dict)
    pins: dict[int, Pin] = field(default_factory=dict)
    edits: list[MessageEdit] = field(default_factory=list)
    avatars: dict[int, str] = field(default_factory=dict)  # users.avatar_file_id
    files: dict[str, StoredFile] = field(default_factory=dict)
    last_ids: dict[str, int] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    # (kind, room_id or 0, user_id) -> the sanction; report id -> the report.
    sanctions: dict[tuple[str, int, int], Sanction] = field(default_factory=dict)
    reports: dict[int, Report] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]


class _Store(MemoryStore[ChatState]):

    def _member(self, room_id: int, user_id: int | None) -> Member | None:
        # The real store joins users for the username; no user row, no member row.
        member = self._state.members.get((room_id, user_id)) if user_id is not None else None
        user = self._state.users.get(member.user_id) if member else None
        return (replace(member, username=user.username, display_name=user.display_name)
                if member and user else None)


class InMemoryUserStore(_Store):
    async def add(self, username: str, display_name: str | None, password_hash: str,
                  is_admin: bool, now: datetime) -> User:
        self._writing()
        if any(u.username.lower() == username.lower() for u in self._state.users.values()):
            raise Conflict("username_taken", f"Username {username!r} is taken.")
        user = User(self._state.next_id("users"), username, display_name, is_admin, now)
        self._state.users[user.id] = user
        self._state.password_hashes[user.id] = password_hash
        return replace(user)

    async def get(self, user_id: int, *, lock: bool = False) -> User | None:
        user = self._state.users.get(user_id)
        return replace(user) if user else None

    async def update_account(self, user: User, password_hash: str | None = None) -> None:
        self._writing()
        stored = self._state.users.get(user.id)
        if stored is None:
            return
        stored.display_name, stored.is_admin = user.display_name, user.is_admin
        stored.deactivated_at, stored.deleted_at = user.deactivated_at, user.deleted_at
        stored.status_text, stored.time_zone = user.status_text, user.time_zone
        if password_hash is not None:
            self._state.password_hashes[user.id] = password_hash

    async def by_username(self, username: str) -> tuple[User, str] | None:
        for user in self._state.users.values():
            if user.username.lower() == username.lower():
                return replace(user), self._state.password_hashes[user.id]
        return None

    async def none_yet(self) -> bool:
        self._writing()  # the real stores answer (and hold) this in a write transaction
        return not self._state.users

    async def set_admin(self, user_id: int, password_hash: str | None) -> None:
        self._writing()
        if user_id in self._state.users:
            self._state.users[user_id].is_admin = True
            if password_hash is not None:
                self._state.password_hashes[user_id] = password_hash


class InMemoryRoomStore(_Store):
    async def add(self, name: str, description: str | None, is_private: bool,
                  created_by: int | None, now: datetime) -> Room:
        self._writing()
        if any(r.name == name for r in self._state.rooms.values()):
            raise Conflict("room_name_taken", f"A room named {name!r} exists.")
        room = Room(self._state.next_id("rooms"), name, description, is_private, created_by, now)
        self._state.rooms[room.id] = room
        return replace(room)

    async def get(self, room_id: int) -> Room | None:
        room = self._state.rooms.get(room_id)
        return replace(room) if room else None

    async def with_member(self, room_id: int, user_id: int | None
                          ) -> tuple[Room | None, Member | None]:
        room = await self.get(room_id)
        return room, self._member(room_id, user_id) if room else None

    async def by_name(self, name: str) -> Room | None:
        return next((replace(r) for r in self._state.rooms.values() if r.name == name), None)

    async def update(self, room: Room) -> None:
        self._writing()
        if any(r.name == room.name and r.id != room.id for r in self._state.rooms.values()):
            raise IntegrityViolation("UNIQUE chat_rooms.name")
        stored = self._state.rooms.get(room.id)
        if stored is not None:  # like UPDATE ... WHERE id = ?: only these columns
            stored.name, stored.description = room.name, room.description
            stored.is_private = room.is_private
            stored.slow_mode_secs = room.slow_mode_secs

    async def visible_to(self, user_id: int | None) -> list[Room]:
        return [replace(r) for _, r in sorted(self._state.rooms.items())
                if not r.is_private or (r.id, user_id) in self._state.members]


class InMemoryMemberStore(_Store):
    async def get(self, room_id: int, user_id: int) -> Member | None:
        return self._member(room_id, user_id)

    async def add(self, member: Member) -> None:
        self._writing()
        if member.room_id not in self._state.rooms or member.user_id not in self._state.users:
            raise IntegrityViolation("FOREIGN KEY room_members")
        key = (member.room_id, member.user_id)
        if key in self._state.members:
            raise Conflict("already_member", "Already a member of this room.")
        self._state.members[key] = replace(member)

    async def remove(self, room_id: int, user_id: int) -> None:
        self._writing()
        self._state.members.pop((room_id, user_id), None)

    async def list(self, room_id: int) -> list[Member]:
        found = (self._member(r, u) for (r, u) in self._state.members if r == room_id)
        return [m for m in found if m is not None]

    async def rooms_of(self, user_id: int) -> list[int]:
        return sorted(r for (r, u) in self._state.members if u == user_id)

    async def set_role(self, room_id: int, user_id: int, role: Role) -> None:
        self._writing()
        if (member := self._state.members.get((room_id, user_id))) is not None:
            member.role = role

    async def set_read_seq(self, room_id: int, user_id: int, seq: int) -> None:
        self._writing()
        member = self._state.members.get((room_id, user_id))
        if member is not None and member.read_seq < seq:  # never backwards
            member.read_seq = seq


class InMemoryMessageStore(_Store):
    def _out(self, message: Message) -> Message:
        # The real store does not load mentions back into a Message; it joins the author's
        # current display name.
        author = self._state.users.get(message.user_id) if message.user_id else None
        return replace(message, mentions=[],
                       display_name=author.display_name if author else None)

    def _write_mentions(self, message: Message) -> None:
        state = self._state
        for key in [k for k in state.mentions if k[0] == message.id]:
            del state.mentions[key]
        names = set(message.mentions)
        for (room_id, user_id) in state.members:
            user = state.users.get(user_id)
            if (room_id == message.room_id and user is not None
                    and user.username.lower() in names and user_id != message.user_id):
                state.mentions[(message.id, user_id)] = (room_id, message.seq)

    async def get(self, message_id: int) -> Message | None:
        message = self._state.messages.get(message_id)
        return self._out(message) if message else None

    async def update(self, message: Message) -> None:
        self._writing()
        stored = self._state.messages.get(message.id)
        if stored is not None:
            stored.content, stored.edited_at = message.content, message.edited_at
            stored.is_deleted = message.is_deleted
        if message.is_deleted:
            message.mentions = []  # as the real store does: a deleted message mentions no one
        if stored is not None:
            stored.mentions = list(message.mentions)
        self._write_mentions(message)

    async def page(self, room_id: int, *, before_seq: int | None, after_seq: int | None,
                   limit: int, timeline: bool = False) -> list[Message]:
        rows = sorted((m for m in self._state.messages.values()
                       if m.room_id == room_id
                       and (not timeline or in_room_timeline(m))
                       and (after_seq is None or m.seq > after_seq)
                       and (before_seq is None or m.seq < before_seq)),
                      key=lambda m: m.seq)
        rows = rows[:limit] if after_seq is not None else rows[-limit:] if limit > 0 else []
        return [self._out(m) for m in rows]

    async def thread_seqs(self, room_id: int, from_seq: int, to_seq: int | None) -> list[int]:
        return sorted(m.seq for m in self._state.messages.values()
                      if m.room_id == room_id and not in_room_timeline(m)
                      and m.seq >= from_seq and (to_seq is None or m.seq <= to_seq))

    async def replies(self, root_id: int, *, after_seq: int | None,
                      limit: int) -> list[Message]:
        rows = sorted((m for m in self._state.messages.values()
                       if m.thread_root_id == root_id
                       and (after_seq is None or m.seq > after_seq)), key=lambda m: m.seq)
        return [self._out(m) for m in rows[:limit]]

    async def unread(self, user_id: int) -> list[Unread]:
        state = self._state
        counts = []
        for (room_id, member_user), member in sorted(state.members.items()):
            if member_user != user_id:
                continue
            count = sum(1 for m in state.messages.values()
                        if m.room_id == room_id and m.seq > member.read_seq
                        and not m.is_deleted and m.user_id != user_id and in_room_timeline(m))
            mentions = sum(1 for (mid, uid), (rid, seq) in state.mentions.items()
                           if uid == user_id and rid == room_id and seq > member.read_seq
                           and in_room_timeline(state.messages[mid]))
            counts.append(Unread(room_id, count, mentions, state.rooms[room_id].last_seq,
                                 member.read_seq))
        return counts


class InMemorySessionStore(_Store):
    async def add(self, session: AuthSession) -> None:
        self._writing()
        if session.user_id not in self._state.users:
            raise IntegrityViolation(f"no user {session.user_id} for a session")
        self._state.sessions[session.id] = replace(session)

    def _revoke(self, session: AuthSession, now: datetime) -> AuthSession | None:
        if session.revoked_at is not None or session.expires_at <= now:
            return None
        session.revoked_at = now
        return replace(session)

    async def revoke(self, session_id: str, now: datetime, reason: str) -> AuthSession | None:
        self._writing()
        session = self._state.sessions.get(session_id)
        return self._revoke(session, now) if session is not None else None

    async def revoke_all(self, user_id: int, now: datetime, reason: str) -> list[AuthSession]:
        self._writing()
        revoked = [self._revoke(s, now) for s in self._state.sessions.values()
                   if s.user_id == user_id]
        return [s for s in revoked if s is not None]


class InMemoryAvatarStore(_Store):
    async def avatar_of(self, user_id: int) -> str | None:
        return self._state.avatars.get(user_id)

    async def set_avatar(self, user_id: int, file_id: str | None) -> None:
        self._writing()
        if file_id is None:
            self._state.avatars.pop(user_id, None)
        else:
            self._state.avatars[user_id] = file_id

    async def avatars_of(self, user_ids: Sequence[int]) -> dict[int, str]:
        return {u: self._state.avatars[u] for u in user_ids if u in self._state.avatars}


class InMemoryChatTx:
    def __init__(self, state: ChatState, read_only: bool, source: str) -> None:
        self.users = InMemoryUserStore(state, read_only)
        self.rooms = InMemoryRoomStore(state, read_only)
        self.members = InMemoryMemberStore(state, read_only)
        self.messages = InMemoryMessageStore(state, read_only)
        self.sessions = InMemorySessionStore(state, read_only)
        self.dms = InMemoryDmStore(state, read_only)
        self.outbox = RecordingOutbox(state, read_only, source)
        self.reactions = InMemoryReactionStore(state, read_only)
        self.pins = InMemoryPinStore(state, read_only)
        self.edits = InMemoryEditLog(state, read_only)
        self.avatars = InMemoryAvatarStore(state, read_only)
        self.files = InMemoryFileStore(state, read_only)
        self.audit = InMemoryAuditLog(state, read_only)
        self.sanctions = InMemorySanctionStore(state, read_only)
        self.reports = InMemoryReportStore(state, read_only)


class InMemoryChatUnitOfWork(MemoryUnitOfWork[ChatState, InMemoryChatTx]):
    def __init__(self, source: str = "tertulia/chat") -> None:
        super().__init__(ChatState(), InMemoryChatTx, source)


class RecordingRevocations:
    """`SessionRevocations` that remembers what this replica was told to refuse."""

    def __init__(self) -> None:
        self.sessions: list[AuthSession] = []

    async def revoked(self, sessions: Sequence[AuthSession]) -> None:
        self.sessions.extend(sessions)

    @property
    def ids(self) -> set[str]:
        return {s.id for s in self.sessions}


class FakePasswordHasher:
    async def hash(self, password: str) -> str:
        return "hashed:" + password

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "hashed:" + password


Target = Literal["room", "user", "everyone"]


class Sent(NamedTuple):
    target: Target
    id: int | None
    frame: Frame


def _wire(frame: Frame) -> Frame:
    return replace(frame, data=frame_data(frame.data))


class RecordingLiveFeed:
    """Records each frame as the real feed puts it on the wire: `data` in its JSON shape
    (`frame_data`), the domain object the use case passed rendered by the adapter's function."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def to_room(self, room_id: int, frame: Frame) -> None:
        self.sent.append(Sent("room", room_id, _wire(frame)))

    async def to_room_many(self, room_id: int, frames: Sequence[Frame]) -> None:
        for frame in frames:
            self.sent.append(Sent("room", room_id, _wire(frame)))

    async def to_user(self, user_id: int, frame: Frame) -> None:
        self.sent.append(Sent("user", user_id, _wire(frame)))

    async def to_everyone(self, frame: Frame) -> None:
        self.sent.append(Sent("everyone", None, _wire(frame)))

    def frames(self, target: Target | None = None, id: int | None = None,
               type: str | None = None) -> list[Frame]:
        return [s.frame for s in self.sent
                if (target is None or s.target == target) and (id is None or s.id == id)
                and (type is None or s.frame.type == type)]


class InMemoryPostLog:
    """The `PostLog` over the fake tables: the batch's context is read from them and the plan
    written back, one batch at a time and all or nothing (it uses the fake's `write()`)."""

    def __init__(self, uow: InMemoryChatUnitOfWork) -> None:
        self._uow = uow
        self.batch_sizes: list[int] = []
        # Makes the next commit fail before anything is written (a database error).
        self.fail_next: Exception | None = None
        # The next this many commits cannot see messages committed before them, as two
        # overlapping PostgreSQL transactions cannot: only the unique index catches a
        # duplicate client_msg_id.
        self.blind_commits = 0

    async def commit(self, requests: Sequence[PostRequest],
                     plan: Callable[[Sequence[PostRequest], PostContext], BatchPlan],
                     now: datetime) -> Sequence[PostOutcome]:
        async with self._uow.write():
            if self.fail_next is not None:
                failure, self.fail_next = self.fail_next, None
                raise failure
            state = self._uow.state
            ctx = self._context(state, requests, now)
            if self.blind_commits:
                self.blind_commits -= 1
                ctx.earlier.clear()
            result = plan(requests, ctx)
            self._write(state, result)
        self.batch_sizes.append(len(requests))
        return result.outcomes

    @staticmethod
    def _context(state: ChatState, requests: Sequence[PostRequest],
                 now: datetime) -> PostContext:
        rooms = {r.room_id: replace(state.rooms[r.room_id]) for r in requests
                 if r.room_id in state.rooms}
        members = {}
        for r in requests:
            member = state.members.get((r.room_id, r.actor.user_id))  # type: ignore[arg-type]
            user = state.users.get(member.user_id) if member else None
            if member is not None and user is not None:
                members[(r.room_id, member.user_id)] = replace(
                    member, username=user.username, display_name=user.display_name)
        earlier = {(m.user_id, m.client_msg_id): replace(m, mentions=[])
                   for m in state.messages.values() if m.client_msg_id is not None}
        mentionable = {(room_id, state.users[user_id].username.lower()): user_id
                       for (room_id, user_id) in state.members if user_id in state.users}
        display_names = {r.actor.user_id: state.users[r.actor.user_id].display_name
                         for r in requests if r.actor.user_id in state.users}
        server_mutes = {r.actor.user_id: state.users[r.actor.user_id].muted_until
                        for r in requests if r.actor.user_id in state.users}
        unjoined: dict[tuple[int, int], dict[str, datetime]] = {}
        for r in requests:
            pair = (r.room_id, r.actor.user_id)
            if pair in members:
                continue
            for (kind, room_id, user_id), sanction in state.sanctions.items():
                if (room_id, user_id) == pair:
                    unjoined.setdefault(pair, {})[kind] = (  # type: ignore[index]
                        sanction.until or FOREVER)
        wanted = roots_wanted(requests)
        roots = {m.id: replace(m, mentions=[]) for m in state.messages.values()
                 if m.id in wanted or any(state.messages[w].thread_root_id == m.id
                                          for w in wanted if w in state.messages)}
        return PostContext(now, rooms, members, earlier, mentionable,  # type: ignore[arg-type]
                           lambda: state.next_id("messages"),
                           display_names, roots,  # type: ignore[arg-type]
                           server_mutes=server_mutes,  # type: ignore[arg-type]
                           unjoined_sanctions=unjoined)  # type: ignore[arg-type]

    @staticmethod
    def _write(state: ChatState, plan: BatchPlan) -> None:
        for member in plan.new_members:
            if (member.room_id, member.user_id) in state.members:
                raise IntegrityViolation("UNIQUE room_members (room_id, user_id)")
            state.members[(member.room_id, member.user_id)] = replace(member)
        for message in plan.messages:
            for other in state.messages.values():
                if (other.room_id, other.seq) == (message.room_id, message.seq):
                    raise IntegrityViolation("UNIQUE chat_messages (room_id, seq)")
                if (message.client_msg_id is not None and other.user_id == message.user_id
                        and other.client_msg_id == message.client_msg_id):
                    raise IntegrityViolation("UNIQUE chat_messages (user_id, client_msg_id)")
            state.messages[message.id] = replace(message, mentions=list(message.mentions),
                                                 display_name=None)
        for message_id, user_id, room_id, seq in plan.mentions:
            state.mentions[(message_id, user_id)] = (room_id, seq)
        for update in plan.threads.values():
            root = state.messages[update.root_id]
            root.reply_count += plan.thread_added[update.root_id]
            root.last_reply_at = update.last_reply_at
        for room_id, seq in plan.room_seqs.items():
            state.rooms[room_id].last_seq = seq
        for (room_id, user_id), seq in plan.read_markers.items():
            member = state.members[(room_id, user_id)]
            member.read_seq = max(member.read_seq, seq)
        for (room_id, user_id), at in plan.last_posts.items():
            state.members[(room_id, user_id)].last_post_at = at
        state.events.extend(plan.events)


class InMemoryJoinReader:
    """The `JoinReader` over the fake tables."""

    def __init__(self, uow: InMemoryChatUnitOfWork) -> None:
        self._uow = uow

    async def read(self, room_id: int, user_id: int | None, since_seq: int | None, *,
                   replay_max: int, history: int) -> JoinView:
        async with self._uow.read() as tx:
            room, member = await tx.rooms.with_member(room_id, user_id)
            if room is None:
                return JoinView(None, None, [], False, [])
            messages, recovered = [], False
            if since_seq is not None:
                messages = await tx.messages.page(room_id, before_seq=None, after_seq=since_seq,
                                                  limit=replay_max + 1)
                recovered = len(messages) <= replay_max
            if not recovered:
                messages = await tx.messages.page(room_id, before_seq=None, after_seq=None,
                                                  limit=history)
            members = [(m.user_id, m.username) for m in await tx.members.list(room_id)]
        return JoinView(room, member, messages, recovered, members)


# A few entries of the bundled list: enough for the rule to bite in use-case tests.
FAKE_PASSWORD_POLICY = PasswordPolicy(common=frozenset({"password", "password123", "12345678"}))


def make_deps(**overrides: Any) -> ChatDeps:
    uow = overrides.pop("uow", None) or InMemoryChatUnitOfWork()
    live = overrides.pop("live", None) or RecordingLiveFeed()
    clock = overrides.pop("clock", None) or FixedClock()
    post = overrides.pop("post", None) or PostQueue(InMemoryPostLog(uow), live, clock).submit
    defaults: dict[str, Any] = {"uow": uow, "live": live, "clock": clock, "post": post,
                                "joins": InMemoryJoinReader(uow),
                                "hasher": FakePasswordHasher(),
                                "passwords": FAKE_PASSWORD_POLICY,
                                "revocations": RecordingRevocations()}
    return ChatDeps(**{**defaults, **overrides})
