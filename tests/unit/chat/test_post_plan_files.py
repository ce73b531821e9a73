"""The planner's rule for attachments: only the poster's own live, unattached uploads; a
refused post claims none; within one batch a file goes to the first post naming it."""

from __future__ import annotations

from datetime import UTC, datetime

from services.chat.domain import Actor, Member, Room
from services.chat.domain.files import StoredFile
from services.chat.post_plan import PostContext, PostRequest, files_wanted, plan_batch

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ALICE, BOB = Actor(1, "alice"), Actor(2, "bob")


def context(*files: StoredFile) -> PostContext:
    room = Room(1, "general", None, False, 1, T0)
    members = {(1, 1): Member(1, 1, "alice", "member", T0), (1, 2): Member(1, 2, "bob",
                                                                          "member", T0)}
    ids = iter(range(100, 200))
    return PostContext(T0, {1: room}, members, {}, {}, ids.__next__,
                       files={f.id: f for f in files})


def upload(file_id: str, user_id: int = 1, **fields: object) -> StoredFile:
    return StoredFile(id=file_id, user_id=user_id, name=f"{file_id[:4]}.txt", size=3,
                      content_type="text/plain", sha256="0" * 64, created_at=T0,
                      **fields)  # type: ignore[arg-type]


def test_plain_posts_ask_for_no_files() -> None:
    assert files_wanted([PostRequest(ALICE, 1, "hi", None)]) == []


def test_each_file_goes_once_and_refusals_claim_nothing() -> None:
    a, b, c, d = "a" * 32, "b" * 32, "c" * 32, "d" * 32
    ctx = context(upload(a), upload(b), upload(c, user_id=2),
                  upload(d, deleted_at=T0))
    requests = [
        PostRequest(ALICE, 1, "", None, attachment_ids=(a, c)),  # c is bob's: refused
        PostRequest(ALICE, 1, "", None, attachment_ids=(d,)),  # deleted: refused
        PostRequest(ALICE, 1, "", None, attachment_ids=(b, a)),  # a still free: carried
        PostRequest(ALICE, 1, "", None, attachment_ids=(a,)),  # a now taken
        PostRequest(BOB, 1, "", None, attachment_ids=(c,)),
    ]
    assert files_wanted(requests) == [a, b, c, d]
    plan = plan_batch(requests, ctx)
    codes = [o.error.code if o.error else None for o in plan.outcomes]
    assert codes == ["attachment_not_found", "attachment_not_found", None,
                     "attachment_in_use", None]
    carried = plan.outcomes[2].message
    assert carried is not None and [f.id for f in carried.attachments] == [a, b]
    assert plan.attachments == [(a, carried.id, 1), (b, carried.id, 1),
                                (c, plan.outcomes[4].message.id, 1)]  # type: ignore[union-attr]
    assert [m.seq for m in plan.messages] == [1, 2]  # refused posts took no seq
    assert plan.events[0].attachment_ids == [a, b]  # type: ignore[attr-defined]
