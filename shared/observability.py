"""Structured logging, Prometheus metrics, `/livez` `/readyz` `/healthz` `/metrics`, heartbeats."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from shared.bus.port import EventBus
from shared.contracts.live import LIVE_SERVICE_HEARTBEAT, ServiceHeartbeat

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
log = logging.getLogger(__name__)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


_TOKEN_IN_URL = re.compile(r"([?&](?:token|access_token)=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """Tokens in URLs (`?token=`, kept for the exercise's client) never reach a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_URL.sub(r"\1[redacted]", record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_TOKEN_IN_URL.sub(r"\1[redacted]", a) if isinstance(a, str)
                                else a for a in args)
        return True


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    redact = RedactTokens()
    # Filters on a logger see only records logged on it, so each server logger gets one.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(redact)


def health_router(registry: CollectorRegistry, readiness: ReadinessCheck) -> APIRouter:
    """`/livez` is the process only; `/readyz` (and `/healthz`) checks what serving needs."""
    router = APIRouter(include_in_schema=False)

    @router.get("/livez")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}

    async def ready() -> JSONResponse:
        checks = await readiness()
        ok = all(checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    router.add_api_route("/readyz", ready, methods=["GET"])
    router.add_api_route("/healthz", ready, methods=["GET"])

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


async def publish_heartbeats(
    bus: EventBus,
    *,
    service: str,
    instance_id: str,
    version: str,
    started_at: datetime,
    interval_secs: float,
    readiness: ReadinessCheck,
    details: Callable[[], dict[str, object]] | None = None,
) -> None:
    """Publish `live.service.heartbeat` every `interval_secs` until cancelled."""
    while True:
        try:
            checks = await readiness()
            beat = ServiceHeartbeat(
                service=service, instance_id=instance_id, version=version,
                started_at=started_at, at=datetime.now(UTC), interval_secs=interval_secs,
                ready=all(checks.values()),
                details={"checks": checks, **(details() if details else {})},
            )
            await bus.publish(LIVE_SERVICE_HEARTBEAT, beat.model_dump_json().encode())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("heartbeat failed")
        await asyncio.sleep(interval_secs)
