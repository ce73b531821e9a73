"""`tertulia up`'s console: every process's log lines as time, process, level, message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

# The fields every JSON line has; the rest are shown as `key=value` after the message.
_BASE_FIELDS = ("ts", "level", "logger", "msg", "exc")
# Caddy adds these to every line; they say nothing to a person reading the console.
_CADDY_NOISE_FIELDS = ("caller", "stacktrace")
_LEVELS = {"debug": "DEBUG", "info": "INFO", "warn": "WARN", "warning": "WARN",
           "error": "ERROR", "critical": "ERROR", "fatal": "FATAL", "panic": "FATAL",
           "dpanic": "ERROR", "inf": "INFO", "wrn": "WARN", "err": "ERROR", "ftl": "FATAL",
           "dbg": "DEBUG", "trc": "DEBUG"}
_NATS = re.compile(r"^\[\d+\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d+ \[([A-Z]{3})\] ?(.*)$")
_UVICORN = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):\s+(.*)$")
_UVICORN_ACCESS = re.compile(r'^\S+:\d+ - "')
# uvicorn's start and stop chatter: `up` says the same (pid, url, ready) in its own lines.
_UVICORN_LIFECYCLE = re.compile(
    r"^(Started server process|Waiting for application (startup|shutdown)\.|"
    r"Application (startup|shutdown) complete\.|Uvicorn running on|Shutting down$|"
    r"Finished server process)")
# Warnings Caddy gives for what the Caddyfile asks for on purpose (plain HTTP, no admin API),
# and its goodbye on a stop.
_CADDY_EXPECTED = re.compile(
    r"^(admin endpoint disabled|HTTP/[23] skipped because it requires TLS|exiting;)")


@dataclass(frozen=True, slots=True)
class Entry:
    """One log event as the console shows it; `level` is empty for a line of unknown form."""

    time: datetime
    level: str
    message: str
    details: tuple[str, ...] = ()  # further lines (a traceback)


def _level(name: object) -> str:
    return _LEVELS.get(str(name).lower(), str(name).upper())


def _time(ts: object, received: datetime) -> datetime:
    try:
        if isinstance(ts, int | float):
            return datetime.fromtimestamp(ts, UTC)
        if isinstance(ts, str):
            return datetime.fromisoformat(ts)
    except (ValueError, OverflowError, OSError):
        pass
    return received


def _value(value: object) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text if text and " " not in text else orjson.dumps(text).decode()


class ReadableLog:
    """Turns one process's raw lines into entries; None for a line the console leaves out.

    Left out: access lines (uvicorn's, Caddy's `http.log.access`, httpx's request lines),
    uvicorn's start and stop chatter, Caddy's info lines and the warnings its configuration
    causes on purpose, and NATS's start-up banner (its info lines before `Server is ready`).
    Warnings and errors always pass; so does a line of no known form, as it is.
    """

    def __init__(self) -> None:
        self._nats_starting = True

    def entry(self, raw: str, received: datetime) -> Entry | None:
        text = raw.rstrip()
        if text.startswith("{"):
            try:
                fields = orjson.loads(text)
            except orjson.JSONDecodeError:
                fields = None
            if isinstance(fields, dict) and "msg" in fields:
                return self._json(fields, received)
        if match := _NATS.match(text):
            return self._nats(_level(match.group(1)), match.group(2), received)
        if match := _UVICORN.match(text):
            level, message = _level(match.group(1)), match.group(2)
            if level in ("DEBUG", "INFO") and (_UVICORN_ACCESS.match(message)
                                               or _UVICORN_LIFECYCLE.match(message)):
                return None
            return Entry(received, level, message)
        return Entry(received, "", text)

    def _json(self, fields: dict[str, object], received: datetime) -> Entry | None:
        level = _level(fields.get("level", "info"))
        logger = str(fields.get("logger", ""))
        message = str(fields.get("msg", ""))
        caddy = isinstance(fields.get("ts"), int | float)
        quiet = level in ("DEBUG", "INFO")
        if logger.startswith("http.log.access") or logger == "uvicorn.access":
            return None
        if quiet and (caddy or logger == "httpx"):
            return None
        if caddy and level == "WARN" and _CADDY_EXPECTED.match(message):
            return None
        skip = (*_BASE_FIELDS, *(_CADDY_NOISE_FIELDS if caddy else ()))
        extras = [f"{key}={_value(value)}" for key, value in fields.items() if key not in skip]
        exc = fields.get("exc")
        details = tuple(str(exc).splitlines()) if exc else ()
        return Entry(_time(fields.get("ts"), received), level,
                     " ".join([message, *extras]), details)

    def _nats(self, level: str, message: str, received: datetime) -> Entry | None:
        if message.startswith("Starting nats-server"):
            self._nats_starting = True  # a restart prints the banner again
        if message.startswith("Server is ready"):
            self._nats_starting = False
        elif self._nats_starting and level in ("DEBUG", "INFO"):
            return None
        return Entry(received, level, message)


def render(entry: Entry, source: str, width: int) -> list[str]:
    """`HH:MM:SS process LEVEL message`, in local time; further lines indented below."""
    stamp = entry.time.astimezone().strftime("%H:%M:%S")
    head = f"{stamp} {source:<{width}} {entry.level:<5} {entry.message}".rstrip()
    return [head, *(f"{'':>{len(stamp) + width + 8}}{line}" for line in entry.details)]
