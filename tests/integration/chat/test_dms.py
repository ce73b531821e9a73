"""Direct messages end to end on a real chat replica (SQLite, NATS): the same people get the
same DM (also when they open it at once), the other member hears of it live, outsiders can
neither list, read, join nor post, a DM refuses what a room allows; and, with the real
notifications service, a plain message in a DM notifies with the reason `direct_message`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosedError

from services.launcher import NatsServerProcess
from tests.integration.chat import test_fakes as store_fakes
from tests.integration.chat.harness import (
    Client,
    chat_settings,
    frames_until,
    receive,
    replicas,
    sign_up,
)
from tests.integration.notifications.harness import (
    Keys,
    eventually,
)
from tests.integration.notifications.with_chat import chat_and_notifications

pytestmark = pytest.mark.integration

pytest.register_assert_rewrite("tests.unit.chat.dm_store_contract")
from tests.unit.chat.dm_store_contract import DmStoreContract  # noqa: E402


class TestSqliteDmStore(DmStoreContract):
    """The DM store contract on SQLite, with the fixture of the chat store contract's."""

    subject = store_fakes.TestSqliteStores.subject


async def open_dm(client: Client, *others: Client | int) -> httpx.Response:
    ids = [o if isinstance(o, int) else o.id for o in others]
    return await client.http.post("/api/chat/dms", json={"user_ids": ids})


async def test_the_same_people_get_the_same_dm_and_the_other_hears_of_it_live(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice, bob, carol = [await sign_up(replica, n) for n in ("alice", "bob", "carol")]
        async with bob.socket("/ws") as bob_lobby:
            await receive(bob_lobby, "hello")
            made = await open_dm(alice, bob)
            assert made.status_code == 201, made.text
            dm = made.json()
            assert (dm["kind"], dm["is_private"]) == ("dm", True)
            assert dm["members"] == [
                {"user_id": alice.id, "username": "alice", "display_name": "alice",
                 "is_bot": False},
                {"user_id": bob.id, "username": "bob", "display_name": "bob", "is_bot": False}]
            # Bob has joined no room, yet hears at once that he is in a new one.
            told = await receive(bob_lobby, "member_joined")
            assert (told["data"]["room_id"], told["data"]["user_id"]) == (dm["id"], bob.id)
        again = await open_dm(bob, alice, alice, bob)
        assert (again.status_code, again.json()["id"]) == (200, dm["id"])
        listed = (await bob.http.get("/api/chat/rooms")).json()
        [mine] = [r for r in listed if r["id"] == dm["id"]]
        assert (mine["kind"], [m["username"] for m in mine["members"]]) == ("dm", ["alice", "bob"])
        assert {r["kind"] for r in listed if r["id"] != dm["id"]} <= {"room"}
        # Another set of people is another DM.
        group = await open_dm(alice, carol, bob)
        assert group.status_code == 201 and group.json()["id"] != dm["id"]
        # The socket's joined frame says what it is.
        async with bob.socket(f"/ws/chat/{dm['id']}") as ws:
            joined = (await frames_until(ws, "joined"))[-1]["data"]
            assert (joined["room"]["kind"], joined["role"]) == ("dm", "member")
        people = (await alice.http.get("/api/chat/users", params={"q": "B"})).json()
        assert people == [{"id": bob.id, "username": "bob", "display_name": None, "is_bot": False,
                           "avatar_url": None}]
        assert (await httpx.AsyncClient(base_url=replica.http_url).get(
            "/api/chat/users")).status_code == 401
        for client in (alice, bob, carol):
            await client.http.aclose()


async def test_two_openers_at_once_make_one_dm(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        people = [await sign_up(replica) for _ in range(3)]
        a, b, c = people
        for _round in range(3):
            answers = await asyncio.gather(open_dm(a, b, c), open_dm(b, c, a), open_dm(c, a, b),
                                           open_dm(a, c, b))
            assert {r.status_code for r in answers} <= {200, 201}
            assert len({r.json()["id"] for r in answers}) == 1
        assert sum(r["kind"] == "dm" for r in (await a.http.get("/api/chat/rooms")).json()) == 1
        for client in people:
            await client.http.aclose()


async def test_outsiders_cannot_list_read_join_or_post_and_a_dm_is_fixed(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        admin = await sign_up(replica, "root")  # the first account: the server's admin
        alice, bob, eve = [await sign_up(replica, n) for n in ("alice", "bob", "eve")]
        dm = (await open_dm(alice, bob)).json()
        assert (await alice.post(dm["id"], "just us")).status_code == 201
        for outsider in (eve, admin):
            assert dm["id"] not in [r["id"] for r in
                                    (await outsider.http.get("/api/chat/rooms")).json()]
            for method, path, body in (
                    ("GET", f"/api/chat/rooms/{dm['id']}", None),
                    ("GET", f"/api/chat/rooms/{dm['id']}/messages", None),
                    ("GET", f"/api/chat/rooms/{dm['id']}/members", None),
                    ("POST", f"/api/chat/rooms/{dm['id']}/join", None),
                    ("POST", f"/api/chat/rooms/{dm['id']}/messages", {"content": "hi"})):
                answer = await outsider.http.request(method, path, json=body)
                assert answer.status_code == 404, (path, answer.text)
                assert answer.json()["code"] == "room_not_found"
            async with outsider.socket(f"/ws/chat/{dm['id']}") as ws:
                with pytest.raises(ConnectionClosedError) as closed:
                    await receive(ws, "joined")
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004
        for method, path, body, code in (
                ("PATCH", f"/api/chat/rooms/{dm['id']}", {"name": "ours"}, "dm_not_editable"),
                ("POST", f"/api/chat/rooms/{dm['id']}/members", {"username": "eve"},
                 "dm_members_fixed"),
                ("DELETE", f"/api/chat/rooms/{dm['id']}/members/{bob.id}", None,
                 "dm_members_fixed"),
                ("POST", f"/api/chat/rooms/{dm['id']}/leave", None, "dm_cannot_leave")):
            answer = await alice.http.request(method, path, json=body)
            assert (answer.status_code, answer.json()["code"]) == (409, code), path
        for body, status, code in (({"user_ids": [alice.id]}, 422, "dm_with_self"),
                                   ({"user_ids": list(range(100, 108))}, 422,
                                    "dm_too_many_members"),
                                   ({"user_ids": [9999]}, 404, "user_not_found"),
                                   ({"user_ids": []}, 422, None)):
            answer = await alice.http.post("/api/chat/dms", json=body)
            assert answer.status_code == status, answer.text
            if code:
                assert answer.json()["code"] == code
        taken = await alice.http.post("/api/chat/rooms", json={"name": "dm:1,2"})
        assert (taken.status_code, taken.json()["code"]) == (422, "room_name_reserved")
        for client in (admin, alice, bob, eve):
            await client.http.aclose()


async def test_a_plain_message_in_a_dm_notifies_with_the_direct_message_reason(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys()
    async with chat_and_notifications(tmp_path, nats_server.url, keys) as (chat, service):
        alice, bob = await sign_up(chat, "alice"), await sign_up(chat, "bob")
        dm = (await open_dm(alice, bob)).json()
        async with bob.socket("/ws") as ws:
            await receive(ws, "hello")
            posted = await alice.post(dm["id"], "lunch?")  # no mention
            assert posted.status_code == 201, posted.text
            frame = (await receive(ws, "notification", timeout=15))["data"]
            assert (frame["reason"], frame["title"], frame["content"]) == (
                "direct_message", "Direct message from alice", "lunch?")
            assert frame["data"]["room_id"] == dm["id"]
        async with httpx.AsyncClient(base_url=service.url, headers={
                "Authorization": f"Bearer {bob.token}"}) as inbox:
            why = (await inbox.get("/api/notifications/decisions",
                                   params={"message_id": posted.json()["id"]})).json()
            assert "direct message" in str(why).lower(), why
            assert "direct_message" in str(why), why
            prefs = (await inbox.get("/api/notifications/preferences")).json()
            [entry] = [r for r in prefs["rooms"] if r["room_id"] == dm["id"]]
            assert (entry["level"], entry["kind"]) == ("all", "dm")

            async def read_through_chat() -> bool:
                count = (await inbox.get("/api/notifications/unread-count")).json()
                return count == {"count": 0}

            await bob.http.post(f"/api/chat/rooms/{dm['id']}/read",
                                json={"seq": posted.json()["seq"]})
            await eventually(read_through_chat, what="the DM read through chat")
        for client in (alice, bob):
            await client.http.aclose()


@pytest.mark.postgres
async def test_openers_on_two_replicas_of_one_postgres_make_one_dm(
        tmp_path: Path, nats_url: str, postgres_url: str) -> None:
    """PostgreSQL's READ COMMITTED lets both transactions see no DM; the unique key lets
    one insert win, and the other, rolled back, reads the winner's."""
    settings = [chat_settings(tmp_path / n, nats_url, database_url=postgres_url,
                              replica_id=f"pg-{n}") for n in ("a", "b")]
    async with replicas(settings) as (one, two):
        people = [await sign_up(one), await sign_up(two), await sign_up(one)]
        for trio in range(3):
            first, second, third = people[trio:] + people[:trio]
            answers = await asyncio.gather(
                open_dm(first, second), open_dm(second, first),
                open_dm(first, second, third), open_dm(third, second, first),
                open_dm(second, third, first))
            assert {r.status_code for r in answers} <= {200, 201}, [r.text for r in answers]
            pair, group = {answers[0].json()["id"], answers[1].json()["id"]}, {
                r.json()["id"] for r in answers[2:]}
            assert len(pair) == 1 and len(group) == 1 and pair != group
        listed = (await people[0].http.get("/api/chat/rooms")).json()
        # 0 with 1, 1 with 2 (trio 1), 2 with 0 (trio 2): three pairs and one group of three.
        assert sorted(len(r["members"]) for r in listed if r["kind"] == "dm") == [2, 2, 3]
        for client in people:
            await client.http.aclose()
