"""The classroom exercise's chat (Práctica 38), as a benchmark peer.

Written from the exercise's design, not improved on purpose: one uvicorn process, a
`ConnectionManager` of rooms, `/ws/chat/{room_id}?token=...`, the token checked by decoding
an HS256 JWT and looking the user up, the room's latest 50 messages sent on connect, and for
each `chat_message` a synchronous SQLite commit in the handler (the stdlib sqlite3 module, so
the event loop waits for the disk exactly as the exercise's `db.commit()` does), then one
`json.dumps` and an `await send_text` per recipient in a loop.

Differences from the exercise, all to keep it runnable rather than faster: one sqlite3
connection for the process instead of a SQLAlchemy session per socket (the exercise's
session-per-socket would exhaust SQLAlchemy's default pool of 15 connections), and a failed
send drops that recipient instead of ending the sender's handler.

`--no-db`: the same server without any database: the user comes from the token's claims,
every room exists, there is no history and messages are numbered in memory.

    python bench/peers/naive.py --port 8000 --db /tmp/naive.db --users 100 --rooms 50
    python bench/peers/naive.py --port 8000 --no-db
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

# run.py mints the tokens with the same secret (HS256, like the exercise's auth module).
SECRET = os.environ.get("NAIVE_JWT_SECRET", "naive-bench-secret")
HISTORY_ON_CONNECT = 50

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS chat_rooms (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE, description TEXT, is_private BOOLEAN DEFAULT 0,
    created_at TEXT, created_by INTEGER REFERENCES users(id));
CREATE TABLE IF NOT EXISTS chat_messages (
    id INTEGER PRIMARY KEY, content TEXT NOT NULL, message_type TEXT DEFAULT 'text',
    room_id INTEGER REFERENCES chat_rooms(id), user_id INTEGER REFERENCES users(id),
    created_at TEXT, edited_at TEXT, is_deleted BOOLEAN DEFAULT 0);
"""


@dataclass(slots=True)
class User:
    id: int
    username: str


class ConnectionManager:
    """The exercise's manager: sockets by connection id, rooms as sets of connection ids."""

    def __init__(self) -> None:
        self.active_connections: dict[str, WebSocket] = {}
        self.rooms: dict[str, set[str]] = {}

    async def connect(self, connection_id: str, websocket: WebSocket) -> None:
        await websocket.accept()
        self.active_connections[connection_id] = websocket

    def disconnect(self, connection_id: str) -> None:
        self.active_connections.pop(connection_id, None)
        for members in self.rooms.values():
            members.discard(connection_id)

    async def join_room(self, connection_id: str, room: str) -> None:
        self.rooms.setdefault(room, set()).add(connection_id)

    async def send_personal_message(self, message: str, connection_id: str) -> None:
        websocket = self.active_connections.get(connection_id)
        if websocket is None:
            return
        try:
            await websocket.send_text(message)
        except Exception:  # the peer went away mid-send: forget it, keep serving the room
            self.disconnect(connection_id)

    async def send_to_room(self, message: str, room: str) -> None:
        for connection_id in list(self.rooms.get(room, ())):
            await self.send_personal_message(message, connection_id)


class Store:
    """The exercise's database work, synchronous on the event loop's thread."""

    def __init__(self) -> None:
        self.db: sqlite3.Connection | None = None
        self.next_id = 0  # --no-db: message ids in memory

    def open(self, path: str) -> None:
        # Default journal and synchronous settings, as SQLAlchemy's SQLite engine leaves them.
        self.db = sqlite3.connect(path)

    def seed(self, users: int, rooms: int) -> None:
        if self.db is None:
            return
        self.db.executescript(SCHEMA)
        now = datetime.now(UTC).isoformat()
        self.db.executemany("INSERT OR IGNORE INTO users (id, username) VALUES (?, ?)",
                            [(i, f"user{i}") for i in range(1, users + 1)])
        self.db.executemany(
            "INSERT OR IGNORE INTO chat_rooms (id, name, created_at, created_by) VALUES (?,?,?,1)",
            [(i, f"room{i}", now) for i in range(1, rooms + 1)])
        self.db.commit()

    def user_from_token(self, token: str) -> User | None:
        try:
            claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        if self.db is None:
            return User(int(claims["sub"]), claims.get("username", ""))
        row = self.db.execute("SELECT id, username FROM users WHERE id = ?",
                              (int(claims["sub"]),)).fetchone()
        return User(*row) if row else None

    def room_exists(self, room_id: int) -> bool:
        if self.db is None:
            return True
        return self.db.execute("SELECT 1 FROM chat_rooms WHERE id = ?",
                               (room_id,)).fetchone() is not None

    def recent(self, room_id: int) -> list[dict[str, Any]]:
        if self.db is None:
            return []
        rows = self.db.execute(
            "SELECT m.id, m.content, m.user_id, u.username, m.created_at FROM chat_messages m "
            "JOIN users u ON u.id = m.user_id WHERE m.room_id = ? "
            "ORDER BY m.created_at DESC LIMIT ?", (room_id, HISTORY_ON_CONNECT)).fetchall()
        keys = ("id", "content", "user_id", "username", "created_at")
        return [dict(zip(keys, row, strict=True)) for row in reversed(rows)]

    def save(self, room_id: int, user: User, content: str) -> dict[str, Any]:
        created_at = datetime.now(UTC).isoformat()
        if self.db is None:
            self.next_id += 1
            message_id = self.next_id
        else:
            cursor = self.db.execute(
                "INSERT INTO chat_messages (content, message_type, room_id, user_id, created_at)"
                " VALUES (?, 'text', ?, ?, ?)", (content, room_id, user.id, created_at))
            self.db.commit()  # the exercise's db.commit(): the loop waits for the disk
            message_id = int(cursor.lastrowid or 0)
            # db.refresh(message): read the row back
            created_at = self.db.execute("SELECT created_at FROM chat_messages WHERE id = ?",
                                         (message_id,)).fetchone()[0]
        return {"id": message_id, "content": content, "user_id": user.id,
                "username": user.username, "created_at": created_at}


manager = ConnectionManager()
store = Store()


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.websocket("/ws/chat/{room_id}")
    async def chat_websocket(websocket: WebSocket, room_id: int,
                             token: str | None = None) -> None:
        connection_id = str(uuid.uuid4())
        user = store.user_from_token(token) if token else None
        if not store.room_exists(room_id):
            await websocket.close(code=4004, reason="Room not found")
            return
        await manager.connect(connection_id, websocket)
        await manager.join_room(connection_id, f"room_{room_id}")
        try:
            for message in store.recent(room_id):
                await manager.send_personal_message(
                    json.dumps({"type": "message", "data": message}), connection_id)
            while True:
                message_data = json.loads(await websocket.receive_text())
                await handle_websocket_message(message_data, connection_id, room_id, user)
        except WebSocketDisconnect:
            manager.disconnect(connection_id)

    return app


async def handle_websocket_message(message_data: dict[str, Any], connection_id: str,
                                   room_id: int, user: User | None) -> None:
    message_type = message_data.get("type")
    if message_type == "chat_message":
        await handle_chat_message(message_data, room_id, user)
    elif message_type == "typing":
        await handle_typing_indicator(message_data, connection_id, room_id, user)
    elif message_type == "ping":
        await manager.send_personal_message(
            json.dumps({"type": "pong", "timestamp": datetime.now(UTC).isoformat()}),
            connection_id)


async def handle_chat_message(message_data: dict[str, Any], room_id: int,
                              user: User | None) -> None:
    if not user:
        return
    content = str(message_data.get("content", "")).strip()
    if not content:
        return
    message = store.save(room_id, user, content)
    await manager.send_to_room(json.dumps({"type": "message", "data": message}),
                               f"room_{room_id}")


async def handle_typing_indicator(message_data: dict[str, Any], connection_id: str,
                                  room_id: int, user: User | None) -> None:
    if not user:
        return
    typing_data = {"type": "typing", "data": {
        "user_id": user.id, "username": user.username,
        "is_typing": message_data.get("is_typing", False)}}
    # As in the exercise: encoded again for every other socket of the room.
    for conn_id in list(manager.rooms.get(f"room_{room_id}", ())):
        if conn_id != connection_id:
            await manager.send_personal_message(json.dumps(typing_data), conn_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", help="SQLite file (created and seeded)")
    parser.add_argument("--no-db", action="store_true", help="no database at all")
    parser.add_argument("--users", type=int, default=100, help="users 1..N (user<i>)")
    parser.add_argument("--rooms", type=int, default=1, help="rooms 1..N")
    args = parser.parse_args()
    if not args.no_db and not args.db:
        parser.error("--db PATH or --no-db")
    # Thousands of sockets: one descriptor each.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if not args.no_db:
        store.open(args.db)
        store.seed(args.users, args.rooms)
    app = create_app()
    # Same uvicorn settings that matter as `tertulia serve`: no per-message compression.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                ws_per_message_deflate=False)


if __name__ == "__main__":
    main()
