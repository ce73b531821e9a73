"""Problem details: how a service's own errors become them, in the one mapping each service
hands to `install_problem_handlers`."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from shared.problems import PROBLEM_JSON, Problem, install_problem_handlers, service_problem


class RuleBroken(Exception):
    status = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Slow(RuleBroken):
    status = 429


def to_problem(exc: RuleBroken) -> Problem:
    return service_problem(exc, retry_after=7) if isinstance(exc, Slow) else service_problem(exc)


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app, {RuleBroken: to_problem})

    @app.get("/thing")
    async def thing() -> None:
        raise error

    return app


async def get(app: FastAPI) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        return await client.get("/thing")


async def test_a_service_error_is_a_problem_with_its_status_code_and_message() -> None:
    response = await get(app_raising(RuleBroken("name_taken", "That name is taken.")))
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {"type": "https://tertulia.dev/problems/name_taken",
                               "title": "That name is taken.", "status": 409,
                               "code": "name_taken", "instance": "/thing"}
    assert "retry-after" not in response.headers


async def test_a_problem_that_says_when_to_retry_says_it_in_the_header_too() -> None:
    response = await get(app_raising(Slow("too_fast", "Slow down.")))
    assert response.status_code == 429
    assert response.json()["retry_after"] == 7
    assert response.headers["retry-after"] == "7"
