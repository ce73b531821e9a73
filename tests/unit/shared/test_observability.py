"""Log hygiene: tokens in URLs never reach a log line."""

from __future__ import annotations

import logging

from shared.observability import RedactTokens


def test_tokens_in_urls_are_redacted_from_messages_and_arguments() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1,
                               '%s - "WebSocket %s" [accepted]',
                               ("127.0.0.1:5555", "/ws/chat/1?token=eyJ.secret.sig&x=1"), None)
    assert RedactTokens().filter(record) is True
    line = record.getMessage()
    assert "eyJ.secret.sig" not in line
    assert "/ws/chat/1?token=[redacted]&x=1" in line
    plain = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                              "GET /api/x?access_token=abc HTTP/1.1", None, None)
    RedactTokens().filter(plain)
    assert plain.getMessage() == "GET /api/x?access_token=[redacted] HTTP/1.1"
