"""HTTP problem details (RFC 9457) with a stable `code`, the one error model of every service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    def __init__(
        self, status: int, code: str, title: str, detail: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://tertulia.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
        }
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    headers: dict[str, str] = {}
    if problem.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in problem.extra:  # the body says when to try again: so does HTTP
        headers["Retry-After"] = str(problem.extra["retry_after"])
    return JSONResponse(problem.body(instance), status_code=problem.status,
                        media_type=PROBLEM_JSON, headers=headers or None)


class ServiceError(Protocol):
    """What every service's domain error carries: the HTTP status, a stable code, a message."""

    status: int
    code: str
    message: str


def service_problem(error: ServiceError, **extra: Any) -> Problem:
    return Problem(error.status, error.code, error.message, **extra)


# A service's own errors, each to its problem: the one place a service maps them.
ErrorMapping = Mapping[type[Exception], Callable[[Any], Problem]]


_STATUS_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden",
                 404: "not_found", 405: "method_not_allowed", 409: "conflict",
                 413: "too_large", 415: "unsupported_media_type", 429: "rate_limited"}


def install_problem_handlers(app: FastAPI, errors: ErrorMapping | None = None) -> None:
    """Problems, invalid requests and HTTP errors, and the service's own `errors`."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        problem = Problem(422, "validation_error", "The request is not valid",
                          "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors),
                          errors=errors)
        return problem_response(problem, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "error")
        problem = Problem(exc.status_code, code, str(exc.detail))
        return problem_response(problem, request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for error_type, to_problem in (errors or {}).items():
        app.add_exception_handler(error_type, _mapped(to_problem))


def _mapped(to_problem: Callable[[Any], Problem]) -> Callable[..., Any]:
    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(to_problem(exc), request.url.path)

    return on_error
