"""`tertulia up`'s readable console: JSON and the servers' own formats become
`time process LEVEL message`; noise is left out; lines of unknown form pass as they are."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from services.console import Entry, ReadableLog, render
from services.supervisor import Output

RECEIVED = datetime(2026, 12, 2, 1, 10, 30, tzinfo=UTC)


def _one(raw: str, log: ReadableLog | None = None) -> Entry | None:
    return (log or ReadableLog()).entry(raw, RECEIVED)


def test_a_service_json_line_becomes_level_message_and_its_fields() -> None:
    entry = _one('{"ts":"2026-12-02T01:10:19.835146+00:00","level":"info",'
                 '"logger":"services.chat.bootstrap","msg":"chat service started",'
                 '"replica_id":"chat-1","error":"nats down again"}')
    assert entry == Entry(datetime(2026, 12, 2, 1, 10, 19, 835146, tzinfo=UTC), "INFO",
                          'chat service started replica_id=chat-1 error="nats down again"')


def test_a_traceback_goes_on_the_lines_below_its_message() -> None:
    entry = _one('{"ts":"2026-12-02T01:10:19+00:00","level":"error","logger":"x",'
                 '"msg":"socket handler failed","exc":"Traceback (most recent call last):\\n'
                 '  File \\"a.py\\"\\nValueError: boom"}')
    assert entry is not None
    lines = render(entry, "chat-1", 8)
    assert lines[0].endswith("chat-1   ERROR socket handler failed")
    assert [line.strip() for line in lines[1:]] == [
        "Traceback (most recent call last):", 'File "a.py"', "ValueError: boom"]
    assert lines[1].startswith(" " * 24)  # under the message, not under the time


@pytest.mark.parametrize("raw", [
    'INFO:     127.0.0.1:46106 - "GET /.well-known/jwks.json HTTP/1.1" 200 OK',
    "INFO:     Started server process [5916]",
    "INFO:     Waiting for application startup.",
    "INFO:     Application startup complete.",
    "INFO:     Uvicorn running on http://127.0.0.1:59121 (Press CTRL+C to quit)",
    "INFO:     Shutting down",
    '{"ts":"2026-12-02T01:10:24+00:00","level":"info","logger":"httpx",'
    '"msg":"HTTP Request: GET http://127.0.0.1:59121/.well-known/jwks.json"}',
    '{"level":"info","ts":1796173825.2109277,"logger":"http.log.access.log0",'
    '"msg":"handled request","request":{"uri":"/api/chat/rooms"},"status":200}',
    '{"level":"error","ts":1796173825.2,"logger":"http.log.access.log0",'
    '"msg":"handled request","status":502}',
    '{"level":"info","ts":1796173825.2109277,"logger":"http.log","msg":"server running"}',
    '{"level":"warn","ts":1796173825.2,"logger":"admin","msg":"admin endpoint disabled"}',
    '{"level":"warn","ts":1796173825.2,"logger":"http",'
    '"msg":"HTTP/2 skipped because it requires TLS","network":"tcp"}',
])
def test_access_lines_and_start_up_chatter_are_left_out(raw: str) -> None:
    assert _one(raw) is None


def test_warnings_and_errors_always_pass() -> None:
    assert _one("WARNING:  Invalid HTTP request received.") == Entry(
        RECEIVED, "WARN", "Invalid HTTP request received.")
    caddy = _one('{"level":"error","ts":1796173825.5,"logger":"http.handlers.reverse_proxy",'
                 '"msg":"dial tcp: connection refused","upstream":"127.0.0.1:1",'
                 '"caller":"x.go:1"}')
    assert caddy == Entry(datetime.fromtimestamp(1796173825.5, UTC), "ERROR",
                          "dial tcp: connection refused upstream=127.0.0.1:1")


def test_the_nats_banner_is_left_out_and_server_is_ready_and_later_lines_pass() -> None:
    log = ReadableLog()
    banner = [
        "[5908] 2026/12/02 01:10:17.523832 [INF] Starting nats-server",
        "[5908] 2026/12/02 01:10:17.523891 [INF]   Version:  2.15.1",
        "[5908] 2026/12/02 01:10:17.524811 [INF]     _ ___ _____ ___ _____ ___ ___   _   __  __",
        "[5908] 2026/12/02 01:10:17.524818 [INF] ",
        "[5908] 2026/12/02 01:10:17.524827 [INF]   Store Directory: \"/d/nats/jetstream\"",
        "[5908] 2026/12/02 01:10:17.527269 [INF] Listening for client connections on x:1",
    ]
    assert [_one(raw, log) for raw in banner] == [None] * len(banner)
    assert _one("[5908] 2026/12/02 01:10:17.524 [WRN] Plaintext passwords detected", log) == \
        Entry(RECEIVED, "WARN", "Plaintext passwords detected")
    assert _one("[5908] 2026/12/02 01:10:17.527470 [INF] Server is ready", log) == \
        Entry(RECEIVED, "INFO", "Server is ready")
    assert _one("[5908] 2026/12/02 01:10:57.647084 [INF] Trapped \"terminated\" signal",
                log) == Entry(RECEIVED, "INFO", 'Trapped "terminated" signal')
    # A restarted server's banner is left out again.
    assert _one("[6000] 2026/12/02 01:11:00.1 [INF] Starting nats-server", log) is None
    assert _one("[6000] 2026/12/02 01:11:00.2 [INF]   Version:  2.15.1", log) is None


@pytest.mark.parametrize("raw", [
    "Traceback (most recent call last):",
    "{not json at all",
    '{"json": "without a msg"}',
    "2026-12-02 01:10:19,123 INFO services.chat.bootstrap chat service started",
])
def test_a_line_of_unknown_form_passes_as_it_is(raw: str) -> None:
    assert _one(raw) == Entry(RECEIVED, "", raw)


def test_up_prints_readable_lines_by_default_and_raw_ones_with_json() -> None:
    raw = ('{"ts":"2026-12-02T01:10:19+00:00","level":"info","logger":"services.chat",'
           '"msg":"chat service started","replica_id":"chat-1"}')
    readable, verbatim = io.StringIO(), io.StringIO()
    for stream, is_readable in ((readable, True), (verbatim, False)):
        output = Output(["chat-1"], stream, readable=is_readable)
        output.say("chat-1 pid=7 url=http://127.0.0.1:1/")
        output.line("chat-1", raw)
        output.line("chat-1", "INFO:     Application startup complete.")
    lines = readable.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].split(maxsplit=1)[1] == "tertulia INFO  chat-1 pid=7 url=http://127.0.0.1:1/"
    assert lines[1].split(maxsplit=1)[1] == (
        "chat-1   INFO  chat service started replica_id=chat-1")
    assert "{" not in readable.getvalue()
    assert verbatim.getvalue().splitlines() == [
        "tertulia | chat-1 pid=7 url=http://127.0.0.1:1/", f"chat-1   | {raw}",
        "chat-1   | INFO:     Application startup complete."]
