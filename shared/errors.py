"""The error a service's rules raise when they say no: a stable `code` (problem details and
WebSocket `error` frames use it), a message for people, and the HTTP `status` it answers
with (`shared/problems.py`, `service_problem`). Each service subclasses it once, and its
kinds of "no" set `status`. No framework here: domains import it."""

from __future__ import annotations


class RuleError(Exception):
    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
