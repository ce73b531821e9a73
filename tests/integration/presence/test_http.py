"""The HTTP API over a running presence service: auth, errors, pages, rooms, stats, health."""

from __future__ import annotations

import pytest

from tests.integration.presence.harness import Scene

pytestmark = pytest.mark.integration


async def test_the_api_answers_who_is_here_where_and_how_many(world: Scene) -> None:
    instance = await world.presence(page_max=2)
    chat = world.replica()
    ana, bea, cal, dan = (world.user() for _ in range(4))
    await chat.open(ana, room=1)
    await chat.open(ana, room=2)
    busy = await chat.open(bea, room=1)
    await chat.set_status(busy, "busy")
    await chat.open(cal, room=9)
    gone = await chat.open(dan)
    await world.log.wait_for(5)
    await chat.close(gone)
    await world.log.wait_for(6)

    async with instance.client(world.token(ana)) as http:
        first = (await http.get("/api/presence", params={"limit": 50})).json()
        assert [u["user_id"] for u in first["users"]] == [ana, bea]  # page_max caps it
        assert first["has_more"] and first["next_after"] == bea
        rest = (await http.get("/api/presence", params={"after": bea})).json()
        assert [u["user_id"] for u in rest["users"]] == [cal] and not rest["has_more"]
        busy_only = (await http.get("/api/presence", params={"status": "busy"})).json()
        assert [u["user_id"] for u in busy_only["users"]] == [bea]

        room = (await http.get("/api/presence/rooms/1")).json()
        assert room["room_id"] == 1
        assert [(u["user_id"], u["status"]) for u in room["users"]] == [
            (ana, "online"), (bea, "busy")]
        # Ana is not in room 9: who is there is not hers to know, nor is Cal's room.
        refused = await http.get("/api/presence/rooms/9")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "not_in_room"
        cal_seen = (await http.get(f"/api/presence/users/{cal}")).json()
        assert (cal_seen["status"], cal_seen["current_room"]) == ("online", None)

        dan_seen = (await http.get(f"/api/presence/users/{dan}")).json()
        assert dan_seen["status"] == "offline" and dan_seen["last_seen_at"] is not None
        stranger = (await http.get("/api/presence/users/1")).json()
        assert (stranger["status"], stranger["last_seen_at"]) == ("offline", None)

        stats = (await http.get("/api/presence/stats")).json()
        assert stats == {"online": 2, "away": 0, "busy": 1, "offline": 1, "connections": 4}

        me = (await http.get("/api/presence/me")).json()
        assert (me["status"], me["connections"], me["current_room"]) == ("online", 2, 2)

    async with instance.client(world.token(7, admin=True)) as http:
        room = (await http.get("/api/presence/rooms/9")).json()
        assert [u["user_id"] for u in room["users"]] == [cal]
        assert room["users"][0]["current_room"] == 9


async def test_bad_requests_get_problem_details(world: Scene) -> None:
    instance = await world.presence()
    ana = world.user()
    async with instance.client() as anonymous:
        response = await anonymous.get("/api/presence")
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
        forged = await anonymous.get("/api/presence/stats",
                                     headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"
    async with instance.client(world.token(ana)) as http:
        offline = await http.put("/api/presence/me", json={"status": "busy"})
        assert offline.status_code == 409 and offline.json()["code"] == "not_connected"
        bad = await http.put("/api/presence/me", json={"status": "offline"})
        assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
        bad_page = await http.get("/api/presence", params={"limit": 0})
        assert bad_page.status_code == 422
        assert (await http.get("/api/presence/users/abc")).status_code == 422

        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": True, "nats": True, "restored": True,
                                          "token_keys": True}
        metrics = (await http.get("/metrics")).text
        assert "tertulia_presence_connections" in metrics
        schema = (await http.get("/openapi.json")).json()
        assert "/api/presence/rooms/{room_id}" in schema["paths"]
