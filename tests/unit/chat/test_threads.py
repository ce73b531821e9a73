"""Threads on the fakes: which message a reply attaches to, the root's count moving with the
reply, what the room's timeline, unread counts and history pages show, the thread's page."""

from __future__ import annotations

import pytest

from services.chat import use_cases
from services.chat.domain import (
    Actor,
    Invalid,
    Message,
    NotFound,
    Room,
    in_room_timeline,
    resolve_root,
)
from services.chat.ports import ChatDeps
from shared.contracts import MessageCreated
from tests.unit.chat.fakes import T0, InMemoryChatUnitOfWork, RecordingLiveFeed
from tests.unit.chat.test_use_cases import sign_up


def _msg(id: int, room_id: int = 1, root: int | None = None, deleted: bool = False,
         also: bool = False) -> Message:
    return Message(id, room_id, id, 1, "alice", "x", "text", T0, thread_root_id=root,
                   is_deleted=deleted, also_send_to_room=also)


class TestResolveRoot:
    def test_a_message_of_the_room_is_its_own_root(self) -> None:
        assert resolve_root(5, 1, {5: _msg(5)}).id == 5

    def test_a_reply_to_a_reply_joins_the_same_thread(self) -> None:
        assert resolve_root(6, 1, {5: _msg(5), 6: _msg(6, root=5)}).id == 5

    @pytest.mark.parametrize("found", [{}, {5: _msg(5, room_id=2)},
                                       {6: _msg(6, root=5)}])
    def test_missing_or_in_another_room_is_not_found(self, found: dict[int, Message]) -> None:
        target = 6 if 6 in found else 5
        with pytest.raises(NotFound) as caught:
            resolve_root(target, 1, found)
        assert caught.value.code == "thread_root_not_found"

    def test_a_deleted_root_takes_no_replies(self) -> None:
        with pytest.raises(Invalid) as caught:
            resolve_root(6, 1, {5: _msg(5, deleted=True), 6: _msg(6, root=5)})
        assert caught.value.code == "thread_root_deleted"

    def test_the_room_timeline_leaves_out_thread_only_replies(self) -> None:
        assert [in_room_timeline(m) for m in (_msg(1), _msg(2, root=1),
                                              _msg(3, root=1, also=True))] == [
            True, False, True]


@pytest.fixture
async def alice(deps: ChatDeps) -> Actor:
    return await sign_up(deps, "alice")


@pytest.fixture
async def bob(deps: ChatDeps) -> Actor:
    return await sign_up(deps, "bob")


@pytest.fixture
async def room(deps: ChatDeps, alice: Actor, bob: Actor) -> Room:
    room = await use_cases.create_room(deps, alice, "general")
    await use_cases.join_room(deps, bob, room.id)
    return room


async def post(deps: ChatDeps, actor: Actor, room: Room, content: str, **kw: object
               ) -> Message:
    return (await use_cases.post_message(deps, actor, room.id, content, **kw)).message  # type: ignore[arg-type]


async def test_a_reply_takes_the_rooms_next_seq_and_counts_on_its_root(
        deps: ChatDeps, alice: Actor, bob: Actor, room: Room, live: RecordingLiveFeed,
        uow: InMemoryChatUnitOfWork) -> None:
    root = await post(deps, alice, room, "lunch?")
    reply = await post(deps, bob, room, "yes", thread_root_id=root.id)
    again = await post(deps, alice, room, "noon", thread_root_id=reply.id)  # reply to reply

    assert (reply.seq, again.seq) == (root.seq + 1, root.seq + 2)
    assert (reply.thread_root_id, again.thread_root_id) == (root.id, root.id)
    page = await use_cases.thread(deps, bob, root.id)
    assert (page.root.reply_count, page.root.last_reply_at) == (2, again.created_at)
    assert [m.content for m in page.replies] == ["yes", "noon"]
    updates = [f.data for f in live.frames("room", room.id, "thread_updated")]
    assert updates[-1] == {"room_id": room.id, "root_id": root.id, "reply_count": 2,
                           "last_reply_at": again.created_at.isoformat()}
    created = [e for e in uow.events if isinstance(e, MessageCreated)]
    assert (created[-1].thread_root_id, created[-1].thread_root_user_id) == (
        root.id, alice.user_id)


async def test_replies_stay_out_of_history_and_unread_unless_also_sent(
        deps: ChatDeps, alice: Actor, bob: Actor, room: Room) -> None:
    root = await post(deps, alice, room, "root")
    await post(deps, alice, room, "only in the thread @bob", thread_root_id=root.id)
    shown = await post(deps, alice, room, "also here", thread_root_id=root.id,
                       also_send_to_room=True)
    last = await post(deps, alice, room, "after")

    page = await use_cases.history(deps, bob, room.id)
    assert [m.content for m in page.messages] == ["root", "also here", "after"]
    assert page.thread_seqs == [root.seq + 1]
    assert shown.also_send_to_room
    unread = next(u for u in await use_cases.unread_counts(deps, bob) if u.room_id == room.id)
    assert (unread.count, unread.mentions, unread.last_seq) == (3, 0, last.seq)


async def test_history_pages_cover_the_thread_seqs_between_them(
        deps: ChatDeps, alice: Actor, room: Room) -> None:
    root = await post(deps, alice, room, "root")
    for n in range(3):
        await post(deps, alice, room, f"r{n}", thread_root_id=root.id)
    await post(deps, alice, room, "next")
    await post(deps, alice, room, "last")
    newest = await use_cases.history(deps, alice, room.id, limit=1)
    older = await use_cases.history(deps, alice, room.id, before_seq=newest.messages[0].seq,
                                    limit=1)
    oldest = await use_cases.history(deps, alice, room.id,
                                     before_seq=older.messages[0].seq, limit=1)
    forward = await use_cases.history(deps, alice, room.id, after_seq=root.seq, limit=1)

    assert [m.content for m in newest.messages + older.messages + oldest.messages] == [
        "last", "next", "root"]
    # A page backwards covers from its first message up to where the later page began.
    assert (newest.thread_seqs, older.thread_seqs, oldest.thread_seqs) == (
        [], [], [2, 3, 4])
    assert ([m.content for m in forward.messages], forward.thread_seqs) == (
        ["next"], [2, 3, 4])


@pytest.mark.parametrize(("target", "code"), [(999, "thread_root_not_found"),
                                              ("other", "thread_root_not_found"),
                                              ("deleted", "thread_root_deleted")])
async def test_a_reply_to_what_cannot_be_a_root_is_refused(
        deps: ChatDeps, alice: Actor, room: Room, target: object, code: str) -> None:
    other = await use_cases.create_room(deps, alice, "elsewhere")
    elsewhere = await post(deps, alice, other, "there")
    gone = await post(deps, alice, room, "gone")
    await use_cases.delete_message(deps, alice, gone.id)
    root_id = {"other": elsewhere.id, "deleted": gone.id}.get(target, target)  # type: ignore[call-overload]
    with pytest.raises((NotFound, Invalid)) as caught:
        await post(deps, alice, room, "hi", thread_root_id=root_id)
    assert caught.value.code == code


async def test_also_send_to_room_without_a_root_is_an_ordinary_message(
        deps: ChatDeps, alice: Actor, room: Room) -> None:
    message = await post(deps, alice, room, "hi", also_send_to_room=True)
    assert (message.thread_root_id, message.also_send_to_room) == (None, False)


async def test_the_thread_of_a_private_room_is_hidden_from_outsiders(
        deps: ChatDeps, alice: Actor, bob: Actor) -> None:
    secret = await use_cases.create_room(deps, alice, "secret", is_private=True)
    root = await post(deps, alice, secret, "psst")
    with pytest.raises(NotFound) as caught:
        await use_cases.thread(deps, bob, root.id)
    assert caught.value.code == "message_not_found"


async def test_one_thread_update_per_root_per_batch(
        deps: ChatDeps, alice: Actor, bob: Actor, room: Room, live: RecordingLiveFeed) -> None:
    import asyncio
    root = await post(deps, alice, room, "root")
    await asyncio.gather(*(post(deps, bob, room, f"r{n}", thread_root_id=root.id)
                           for n in range(3)))
    counts = [f.data["reply_count"] for f in live.frames("room", room.id, "thread_updated")]
    assert counts[-1] == 3 and len(counts) < 3


def test_the_chat_message_frame_takes_a_strict_thread_root_id() -> None:
    from pydantic import ValidationError

    from services.chat.adapters.inbound.ws_frames import ChatMessageIn

    frame = ChatMessageIn.model_validate({"type": "chat_message", "content": "x",
                                          "thread_root_id": 5, "also_send_to_room": True})
    assert (frame.thread_root_id, frame.also_send_to_room) == (5, True)
    plain = ChatMessageIn.model_validate({"type": "chat_message", "content": "x"})
    assert (plain.thread_root_id, plain.also_send_to_room) == (None, False)
    for bad in ("5", 0, 2**63):
        with pytest.raises(ValidationError):
            ChatMessageIn.model_validate({"type": "chat_message", "content": "x",
                                          "thread_root_id": bad})


def test_every_message_carries_its_thread_fields() -> None:
    from services.chat.adapters.frames import message_data

    data = message_data(_msg(7, root=3, also=True))
    assert {k: data[k] for k in ("thread_root_id", "also_send_to_room", "reply_count",
                                 "last_reply_at")} == {
        "thread_root_id": 3, "also_send_to_room": True, "reply_count": 0,
        "last_reply_at": None}
