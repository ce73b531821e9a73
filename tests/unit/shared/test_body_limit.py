"""`BodyLimit`: a body above the limit is refused with 413 problem details, before it is read
(Content-Length) or as soon as it passes the limit (chunked); smaller bodies pass unchanged."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from shared.body_limit import BodyLimit

LIMIT = 1000


class Client:
    """The server side of one request: the body in chunks, what was read, what was sent."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.reads = 0
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        self.reads += 1
        if not self.chunks:
            return {"type": "http.disconnect"}
        chunk = self.chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    def header(self, name: bytes) -> bytes | None:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return dict(start["headers"]).get(name)

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


class EchoLength:
    """An app that reads the whole body and answers with its length."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})


def scope(content_length: int | str | None = None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    else:
        headers.append((b"transfer-encoding", b"chunked"))
    return {"type": "http", "method": "POST", "path": "/api/x", "headers": headers}


def assert_413(client: Client) -> None:
    assert client.status == 413
    assert client.header(b"content-type") == b"application/problem+json"
    problem = orjson.loads(client.body())
    assert problem["code"] == "body_too_large"
    assert problem["status"] == 413
    assert problem["max_bytes"] == LIMIT
    assert problem["instance"] == "/api/x"


async def test_a_content_length_above_the_limit_is_refused_before_reading() -> None:
    app = EchoLength()
    client = Client([b"x" * 600, b"x" * 600])
    await BodyLimit(app, max_bytes=LIMIT)(scope(1200), client.receive, client.send)
    assert_413(client)
    assert client.reads == 0 and app.calls == 0


@pytest.mark.parametrize("length", [0, 1, LIMIT])
async def test_a_content_length_up_to_the_limit_passes_through(length: int) -> None:
    client = Client([b"x" * length])
    await BodyLimit(EchoLength(), max_bytes=LIMIT)(scope(length), client.receive, client.send)
    assert (client.status, client.body()) == (200, str(length).encode())


async def test_a_chunked_body_stops_being_read_once_it_passes_the_limit() -> None:
    app = EchoLength()
    client = Client([b"x" * 400] * 100)  # 40 kB on the way
    await BodyLimit(app, max_bytes=LIMIT)(scope(None), client.receive, client.send)
    assert_413(client)
    assert client.reads == 3  # 400 + 400 + 400 passed 1000: the other 97 chunks stay unread
    assert app.calls == 0


async def test_a_chunked_body_up_to_the_limit_reaches_the_app_whole() -> None:
    client = Client([b"x" * 250] * 4)
    await BodyLimit(EchoLength(), max_bytes=LIMIT)(scope(None), client.receive, client.send)
    assert (client.status, client.body()) == (200, b"1000")


async def test_an_unreadable_content_length_is_left_to_the_server() -> None:
    client = Client([b"{}"])
    await BodyLimit(EchoLength(), max_bytes=LIMIT)(scope("12abc"), client.receive, client.send)
    assert client.status == 200  # uvicorn refuses such a request before any app sees it


async def test_websockets_and_lifespan_pass_untouched() -> None:
    seen = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    for kind in ("websocket", "lifespan"):
        await BodyLimit(app, max_bytes=LIMIT)({"type": kind}, None, None)
    assert seen == ["websocket", "lifespan"]


async def test_a_streamed_path_has_its_own_limit_and_is_not_buffered() -> None:
    """Uploads: a larger Content-Length passes on their path only, above theirs it is
    refused unread, and a chunked body reaches the route chunk by chunk."""
    limit = BodyLimit(EchoLength(), max_bytes=LIMIT, streamed={"/api/x": 5 * LIMIT})
    client = Client([b"x" * 2000, b"x" * 2000])
    await limit(scope(4000), client.receive, client.send)
    assert (client.status, client.body()) == (200, b"4000")
    refused = Client([b"x" * 6000])
    await limit(scope(6000), refused.receive, refused.send)
    assert refused.status == 413 and refused.reads == 0
    assert orjson.loads(refused.body())["max_bytes"] == 5 * LIMIT
    chunked = Client([b"x" * 100] * 80)
    await limit(scope(None), chunked.receive, chunked.send)
    # 8000 bytes past even the path's limit: the route, not the middleware, stops those.
    assert (chunked.status, chunked.body(), chunked.reads) == (200, b"8000", 80)
    other = Client([b"x" * 2000])
    await limit({**scope(2000), "path": "/api/y"}, other.receive, other.send)
    assert other.status == 413
