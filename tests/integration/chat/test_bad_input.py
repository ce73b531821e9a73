"""Bad input gets its error frame or close code, nothing half-written, and the server serves on."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import jwt
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from shared.auth import Principal, TokenIssuer, generate_private_key_pem
from shared.auth.tokens import AUDIENCE, ISSUER
from tests.integration.chat.harness import (
    chat_settings,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = pytest.mark.integration


async def closed_with(ws, timeout: float = 10.0) -> int | None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        async with alice.socket("/ws") as ws:
            await receive(ws, "hello")
            cases = [
                ("{not json", "malformed_json"),
                ('"just a string"', "invalid_frame"),
                ('{"no_type": 1}', "invalid_frame"),
                ('{"type": "launch_rockets"}', "unknown_type"),
                ('{"type": "join", "room_id": "1"}', "invalid_frame"),
                ('{"type": "chat_message", "room_id": 1, "content": 5}', "invalid_frame"),
                ('{"type": "read", "room_id": 1, "seq": -3}', "invalid_frame"),
                ('{"type": "set_status", "status": "asleep"}', "invalid_frame"),
                ('{"type": "chat_message", "content": "no room given"}', "room_required"),
                (f'{{"type": "chat_message", "room_id": {room["id"]}, "content": "   "}}',
                 "content_empty"),
                (f'{{"type": "chat_message", "room_id": {room["id"]}, '
                 f'"content": "{"y" * 4001}"}}', "content_too_long"),
                ('{"type": "join", "room_id": 999999}', "room_not_found"),
                ('{"type": "typing", "room_id": 999999, "is_typing": true}', "not_joined"),
                ('{"type": "edit_message", "message_id": 424242, "content": "x"}',
                 "message_not_found"),
            ]
            for raw, code in cases:
                await ws.send(raw)
                error = await receive(ws, "error")
                assert error["data"]["code"] == code, raw
                assert error["data"]["message"]
            await send(ws, type="ping")
            assert (await receive(ws, "pong"))["type"] == "pong"
        history = (await alice.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert history["messages"] == []  # nothing half-written
        assert (await alice.http.get(f"/api/chat/rooms/{room['id']}")).json()["last_seq"] == 0


async def test_private_rooms_are_invisible_to_outsiders(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        mallory = await sign_up(replica)
        secret = await alice.create_room("secret", is_private=True)
        await alice.post(secret["id"], "the plan")
        rooms = (await mallory.http.get("/api/chat/rooms")).json()
        assert all(r["id"] != secret["id"] for r in rooms)
        for path in (f"/api/chat/rooms/{secret['id']}",
                     f"/api/chat/rooms/{secret['id']}/messages",
                     f"/api/chat/rooms/{secret['id']}/members"):
            response = await mallory.http.get(path)
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "room_not_found"
        assert (await mallory.post(secret["id"], "let me in")).status_code == 404
        async with mallory.socket("/ws") as ws:
            await send(ws, type="join", room_id=secret["id"])
            assert (await receive(ws, "error"))["data"]["code"] == "room_not_found"
            await send(ws, type="chat_message", room_id=secret["id"], content="hi")
            assert (await receive(ws, "error"))["data"]["code"] == "room_not_found"
        async with mallory.socket(f"/ws/chat/{secret['id']}") as ws:
            assert await closed_with(ws) == 4004
        # Guests read public rooms only, and cannot post.
        public = await alice.create_room("lobby")
        async with connect(f"{replica.ws_url}/ws/chat/{public['id']}") as guest:
            frames = await frames_until(guest, "joined")
            assert frames[0]["data"]["user"] is None
            await send(guest, type="chat_message", content="hello?")
            assert (await receive(guest, "error"))["data"]["code"] == "not_authenticated"
        async with connect(f"{replica.ws_url}/ws/chat/{secret['id']}") as guest:
            assert await closed_with(guest) == 4004
        history = (await alice.http.get(f"/api/chat/rooms/{secret['id']}/messages")).json()
        assert [m["content"] for m in history["messages"]] == ["the plan"]


ALICE = Principal(1, "alice", True)


def forged_tokens() -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": "1", "name": "alice", "adm": True, "iss": ISSUER, "aud": AUDIENCE,
              "iat": now, "exp": now + 3600}
    other_key = TokenIssuer(generate_private_key_pem())
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = jwt.utils.base64url_encode(orjson.dumps(claims)).decode()
    return {
        "wrong key": other_key.issue(ALICE),
        "alg none": f"{header}.{body}.",
        "hs256": jwt.encode(claims, "a shared secret that is long enough", algorithm="HS256"),
        "garbage": "not.a.token",
    }


async def test_forged_or_expired_tokens_are_refused(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        expired = replica.chat.issuer.issue(ALICE, now=time.time() - 7200)
        tokens = {**forged_tokens(), "expired": expired}
        for name, token in tokens.items():
            async with connect(f"{replica.ws_url}/ws/chat/{room['id']}?token={token}") as ws:
                assert await closed_with(ws) == 4001, name
            async with connect(f"{replica.ws_url}/ws") as ws:
                await receive(ws, "hello")
                await send(ws, type="auth", token=token)
                assert await closed_with(ws) == 4001, name
            response = await alice.http.get("/api/auth/me",
                                            headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, name
            assert response.json()["code"] == "invalid_token"
        # The real token still works: first-frame auth upgrades a guest socket.
        async with connect(f"{replica.ws_url}/ws") as ws:
            await receive(ws, "hello")
            await send(ws, type="auth", token=alice.token)
            hello = await receive(ws, "hello")
            assert hello["data"]["user"]["id"] == alice.id


async def test_foreign_origin_oversized_frames_and_floods_are_closed(
        tmp_path: Path, nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, allowed_origins=["https://chat.example"],
                             rate_limit_per_sec=5, rate_limit_burst=5, rate_limit_strikes=10)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        async with alice.socket("/ws", origin="https://evil.example") as ws:
            assert await closed_with(ws) == 1008
        async with alice.socket("/ws", origin="https://chat.example") as ws:
            assert (await receive(ws, "hello"))["data"]["user"]["id"] == alice.id
        same_origin = f"http://127.0.0.1:{replica.port}"
        async with alice.socket("/ws", origin=same_origin) as ws:
            await receive(ws, "hello")

        async with alice.socket("/ws") as ws:
            await receive(ws, "hello")
            await ws.send('{"type":"chat_message","content":"' + "z" * 100_000 + '"}')
            assert await closed_with(ws) == 1009

        async with alice.socket("/ws") as ws:
            await receive(ws, "hello")
            for _ in range(40):
                await send(ws, type="ping")
            codes = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    frame = await receive(ws, "error")
                    codes.append(frame["data"]["code"])
            assert set(codes) == {"rate_limited"}
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

        # Still serving.
        bob = await sign_up(replica)
        async with bob.socket(f"/ws/chat/{room['id']}") as ws:
            await receive(ws, "joined")
            await send(ws, type="chat_message", content="still here")
            assert (await receive(ws, "ack"))["data"]["seq"] == 1


async def test_http_bad_input_is_problem_details(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica, username="alice")
        http = alice.http
        cases = [
            (http.post("/api/auth/register", json={"username": "Alice",
                                                   "password": "long enough pw"}),
             409, "username_taken"),
            (http.post("/api/auth/register", json={"username": "a", "password": "long enough"}),
             422, "invalid_username"),
            (http.post("/api/auth/register", json={"username": "bobby", "password": "short"}),
             422, "password_too_short"),
            (http.post("/api/auth/register", json={"username": "bobby", "password": "password"}),
             422, "password_too_common"),
            (http.post("/api/auth/register", json={"username": "bobby", "password": "12345678"}),
             422, "password_too_common"),
            (http.post("/api/auth/register", json={"username": "bobby",
                                                   "password": "QwertyUiop"}),
             422, "password_too_common"),
            (http.post("/api/auth/register", json={"username": "bobby", "password": " " * 8}),
             422, "password_blank"),
            (http.post("/api/auth/register", json={"username": "bobby.tables",
                                                   "password": "Bobby.Tables"}),
             422, "password_is_username"),
            (http.post("/api/auth/register", content=b"{", headers={
                "content-type": "application/json"}), 422, "validation_error"),
            (http.post("/api/auth/login", json={"username": "alice", "password": "wrong pw!"}),
             401, "invalid_credentials"),
            (http.post("/api/chat/rooms", json={"name": ""}), 422, "validation_error"),
            (http.get("/api/chat/rooms/1/messages", params={"limit": 0}), 422,
             "validation_error"),
            (http.get("/api/chat/rooms/abc"), 422, "validation_error"),
            (http.get("/api/auth/me", headers={"Authorization": ""}), 401,
             "not_authenticated"),
        ]
        for call, status, code in cases:
            response = await call
            assert response.status_code == status, (code, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == code


TOO_BIG = 2**63  # one past the largest id the database can hold


async def test_numbers_past_int64_are_422_over_http(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        http = alice.http
        calls = [
            http.get(f"/api/chat/rooms/{TOO_BIG}"),
            http.get(f"/api/chat/rooms/{TOO_BIG}/messages"),
            http.get(f"/api/chat/rooms/{room['id']}/messages", params={"after_seq": TOO_BIG}),
            http.get(f"/api/chat/rooms/{room['id']}/messages", params={"before_seq": TOO_BIG}),
            http.post(f"/api/chat/rooms/{TOO_BIG}/messages", json={"content": "hi"}),
            http.post(f"/api/chat/rooms/{room['id']}/read", json={"seq": TOO_BIG}),
            http.patch(f"/api/chat/messages/{TOO_BIG}", json={"content": "hi"}),
            http.delete(f"/api/chat/rooms/{room['id']}/members/{TOO_BIG}"),
            http.get("/api/chat/rooms/0"),
        ]
        for call in calls:
            response = await call
            assert response.status_code == 422, (response.request.url, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] == "validation_error"
        # The largest id is a room that does not exist, not an error.
        response = await http.get(f"/api/chat/rooms/{TOO_BIG - 1}")
        assert (response.status_code, response.json()["code"]) == (404, "room_not_found")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_numbers_past_int64_are_error_frames_and_the_socket_stays_open(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        logged = _Records()
        logging.getLogger("services.chat").addHandler(logged)
        try:
            alice = await sign_up(replica)
            room = await alice.create_room()
            async with alice.socket("/ws") as ws:
                await receive(ws, "hello")
                for frame in ({"type": "join", "room_id": TOO_BIG},
                              {"type": "join", "room_id": room["id"], "since_seq": TOO_BIG},
                              {"type": "leave", "room_id": TOO_BIG},
                              {"type": "chat_message", "room_id": TOO_BIG, "content": "hi"},
                              {"type": "edit_message", "message_id": TOO_BIG, "content": "x"},
                              {"type": "delete_message", "message_id": TOO_BIG},
                              {"type": "typing", "room_id": TOO_BIG},
                              {"type": "read", "room_id": room["id"], "seq": TOO_BIG},
                              {"type": "read", "room_id": TOO_BIG, "seq": 1}):
                    await send(ws, **frame)
                    error = await receive(ws, "error")
                    assert error["data"]["code"] == "invalid_frame", frame
                # The same socket goes on: it joins and posts.
                await send(ws, type="join", room_id=room["id"])
                await receive(ws, "joined")
                await send(ws, type="chat_message", room_id=room["id"], content="still here")
                assert (await receive(ws, "ack"))["data"]["seq"] == 1
            # A handshake's since_seq that is no seq is no since_seq: the join replays as usual.
            for since in (str(TOO_BIG), "²", "9" * 40):
                async with alice.socket(f"/ws/chat/{room['id']}?since_seq={since}") as ws:
                    joined = await receive(ws, "joined")
                    assert joined["data"]["last_seq"] == 1, since
        finally:
            logging.getLogger("services.chat").removeHandler(logged)
        assert [r.getMessage() for r in logged.records] == []
