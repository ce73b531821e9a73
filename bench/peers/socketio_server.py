"""python-socketio chat, as a benchmark peer: the usual way to write a Python chat server.

`socketio.AsyncServer` as an ASGI app under uvicorn, WebSocket transport only (no long
polling). Events: `join` `{room}` enters the room and is acknowledged with `{room}` (the
client asks for the ack, so it knows when the room is joined); `chat_message`
`{room, content}` is emitted to the whole room, sender included, with an id and a time
added. Nothing is stored and nobody is authenticated.

    python bench/peers/socketio_server.py --port 8000
"""

from __future__ import annotations

import argparse
import itertools
import resource
from datetime import UTC, datetime
from typing import Any

import socketio
import uvicorn

sio = socketio.AsyncServer(async_mode="asgi", transports=["websocket"])
message_ids = itertools.count(1)


@sio.event
async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
    await sio.enter_room(sid, f"room_{data['room']}")
    return {"room": data["room"]}


@sio.event
async def chat_message(sid: str, data: dict[str, Any]) -> None:
    message = {"id": next(message_ids), "room": data["room"], "content": data["content"],
               "created_at": datetime.now(UTC).isoformat()}
    # No callback: python-socketio encodes the packet once for the whole room.
    await sio.emit("chat_message", message, room=f"room_{data['room']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvicorn.run(socketio.ASGIApp(sio), host=args.host, port=args.port, log_level="warning",
                ws_per_message_deflate=False)


if __name__ == "__main__":
    main()
