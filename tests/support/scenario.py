"""One pass over everything the four services say to each other on NATS: sign-ups, a room,
two sockets, a post with a mention (message, notification), typing, viewing, a status,
presence queries, a broadcast, a logout (revocation). Used where the services run under
their own NATS users, to show each one can do its whole job with its permissions."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

PASSWORD = "a long enough password 1"
WAIT_SECS = 20.0


@dataclass
class Urls:
    """Where each service answers (all the same behind the gateway)."""

    chat: str
    presence: str
    notifications: str
    dashboard: str


@dataclass
class Seen:
    message_seq: int = 0
    frames: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    presence: dict[str, Any] = field(default_factory=dict)
    broadcast: dict[str, Any] = field(default_factory=dict)


async def _token(http: httpx.AsyncClient, username: str) -> str:
    response = await http.post("/api/auth/token", data={"username": username,
                                                        "password": PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _until(ws: ClientConnection, kind: str, seen: Seen, who: str,
                 where: Any = None) -> dict[str, Any]:
    """The next `kind` frame; with `where`, the first one (read already or next) it accepts."""
    if where is not None:
        for frame in seen.frames.get(who, []):
            if frame["type"] == kind and where(frame["data"]):
                return dict(frame["data"])
    async with asyncio.timeout(WAIT_SECS):
        while True:
            frame = json.loads(await ws.recv())
            seen.frames.setdefault(who, []).append(frame)
            if frame["type"] == kind and (where is None or where(frame["data"])):
                return dict(frame["data"])


async def _poll(fetch: Any, ready: Any) -> Any:
    deadline = time.monotonic() + WAIT_SECS
    while True:
        value = await fetch()
        if ready(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def exercise(urls: Urls, *, presence_frames: bool = True) -> Seen:
    seen = Seen()
    tag = uuid.uuid4().hex[:6]
    alice, bob = f"alice{tag}", f"bob{tag}"
    async with httpx.AsyncClient(base_url=urls.chat, timeout=10) as chat:
        for name in (alice, bob):
            response = await chat.post("/api/auth/register",
                                       json={"username": name, "password": PASSWORD})
            assert response.status_code == 201, response.text
        ta, tb = await _token(chat, alice), await _token(chat, bob)
        room = await chat.post("/api/chat/rooms", json={"name": f"perm-{tag}"},
                               headers={"Authorization": f"Bearer {ta}"})
        assert room.status_code == 201, room.text
        room_id = room.json()["id"]
        joined = await chat.post(f"/api/chat/rooms/{room_id}/join",
                                 headers={"Authorization": f"Bearer {tb}"})
        assert joined.status_code in (200, 201), joined.text
        ws_url = urls.chat.replace("http", "ws", 1) + "/ws"
        async with connect(ws_url, additional_headers={"Cookie": f"tertulia_session={ta}"}
                           ) as wa, connect(ws_url, additional_headers={
                               "Cookie": f"tertulia_session={tb}"}) as wb:
            for ws, who in ((wa, "alice"), (wb, "bob")):
                await _until(ws, "hello", seen, who)
                await ws.send(json.dumps({"type": "join", "room_id": room_id}))
                await _until(ws, "room_presence", seen, who)
            await wa.send(json.dumps({"type": "view", "room_id": room_id, "visible": True}))
            await wa.send(json.dumps({"type": "typing", "room_id": room_id}))
            await _until(wb, "typing", seen, "bob")
            await wa.send(json.dumps({"type": "chat_message", "room_id": room_id,
                                      "content": f"hello @{bob}", "client_msg_id": tag}))
            ack = await _until(wa, "ack", seen, "alice")
            seen.message_seq = ack["seq"]
            message = await _until(wb, "message", seen, "bob")
            assert message["seq"] == ack["seq"]
            await _until(wb, "notification", seen, "bob")
            # Reading moves bob's marker: his other sockets hear it on live.user.<id>.
            await wb.send(json.dumps({"type": "read", "room_id": room_id,
                                      "seq": ack["seq"]}))
            await _until(wb, "unread", seen, "bob", lambda data: data["read_seq"] == ack["seq"])
            await wb.send(json.dumps({"type": "set_status", "status": "busy"}))
            async with httpx.AsyncClient(base_url=urls.notifications, timeout=10,
                                         headers={"Authorization": f"Bearer {tb}"}) as ntf:
                seen.notifications = (await ntf.get("/api/notifications")).json()[
                    "notifications"]
            async with httpx.AsyncClient(base_url=urls.presence, timeout=10,
                                         headers={"Authorization": f"Bearer {ta}"}) as prs:
                me = (await chat.get("/api/auth/me",
                                     headers={"Authorization": f"Bearer {tb}"})).json()
                seen.presence = await _poll(
                    lambda: _json(prs.get(f"/api/presence/users/{me['id']}")),
                    lambda body: body.get("status") == "busy")
            if presence_frames:
                # events.presence.changed reaches chat as a core NATS message; the
                # in-memory bus has no such path.
                await _until(wa, "user_presence", seen, "alice",
                             lambda data: data["status"] == "busy")
            async with httpx.AsyncClient(base_url=urls.dashboard, timeout=10,
                                         headers={"Authorization": f"Bearer {ta}"}) as dash:
                # The first account of an empty system is its administrator; here it may
                # not be (a shared system), so the broadcast is tried, not required.
                sent = await dash.post("/api/dashboard/broadcast",
                                       json={"content": f"notice {tag}"})
                if sent.status_code == 200:
                    seen.broadcast = sent.json()
                    await _until(wb, "admin_broadcast", seen, "bob")
        logout = await chat.post("/api/auth/logout", headers={"Authorization": f"Bearer {ta}"})
        assert logout.status_code == 204
    return seen


async def _json(response: Any) -> Any:
    return (await response).json()
