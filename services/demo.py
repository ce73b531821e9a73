"""`tertulia demo`: a few users, rooms and a conversation, so a first look is not empty."""

from __future__ import annotations

from pathlib import Path

import httpx

DEMO_PASSWORD = "tertulia-demo"
DEMO_ADMIN = "ana"
DEMO_USERS = ("bruno", "carmen", "diego")
# (room, private, members besides its creator ana)
DEMO_ROOMS = (
    ("general", False, ("bruno", "carmen", "diego")),
    ("random", False, ("bruno", "carmen", "diego")),
    ("equipo", True, ("bruno",)),
)
DEMO_CONVERSATION = (
    ("general", "ana", "¡Bienvenidos a Tertulia! Welcome, everyone 👋"),
    ("general", "bruno", "Hola Ana. Is the release still planned for Friday?"),
    ("general", "ana", "Yes. @carmen, can you check the notes before Thursday?"),
    ("general", "diego", "I can help with the screenshots."),
    ("random", "bruno", "Café a las cinco, ¿alguien?"),
    ("random", "diego", "Count me in ☕"),
    ("random", "carmen", "¡Yo también! Me too."),
    ("equipo", "ana", "Private room: only invited people see this."),
    ("equipo", "bruno", "Perfect, let's plan the release here."),
)


class DemoError(RuntimeError):
    """The demo data could not be created (the system is not reachable, or not empty)."""


async def _make_admin(data_dir: Path, database_url: str | None) -> None:
    from services.chat.bootstrap import create_admin
    from services.chat.settings import ChatSettings

    settings = (ChatSettings(data_dir=data_dir) if database_url is None
                else ChatSettings(data_dir=data_dir, database_url=database_url))
    await create_admin(settings, DEMO_ADMIN, DEMO_PASSWORD)


def _check(response: httpx.Response, what: str) -> httpx.Response:
    if response.is_success:
        return response
    try:
        detail = response.json().get("detail") or response.json().get("title")
    except ValueError:
        detail = response.text[:200]
    raise DemoError(f"{what}: HTTP {response.status_code} {detail}")


async def fill_demo(url: str, data_dir: Path, chat_database_url: str | None = None
                    ) -> list[str]:
    """Create the demo data through the gateway at `url`; returns the lines to print. The
    chat database is the one of `data_dir` unless `chat_database_url` names another."""
    base = url.rstrip("/")
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as http:
        try:
            rooms = _check(await http.get("/api/chat/rooms"), "listing rooms").json()
        except httpx.HTTPError as exc:
            raise DemoError(f"{base} is not reachable ({exc}); start Tertulia first") from exc
        if rooms:
            raise DemoError(f"{base} already has rooms; the demo only fills an empty system")

        # The administrator is made in the chat database directly (there is no HTTP API to
        # grant the role); everyone else signs up like a user would.
        await _make_admin(data_dir, chat_database_url)
        tokens: dict[str, str] = {}
        for username in DEMO_USERS:
            response = await http.post("/api/auth/register",
                                       json={"username": username, "password": DEMO_PASSWORD})
            if response.status_code != 409:
                _check(response, f"signing up {username}")
        for username in (DEMO_ADMIN, *DEMO_USERS):
            response = _check(await http.post(
                "/api/auth/token", data={"username": username, "password": DEMO_PASSWORD}),
                f"signing in {username}")
            tokens[username] = response.json()["access_token"]

        def auth(username: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[username]}"}

        room_ids: dict[str, int] = {}
        for name, private, members in DEMO_ROOMS:
            room = _check(await http.post("/api/chat/rooms", headers=auth(DEMO_ADMIN),
                                          json={"name": name, "is_private": private}),
                          f"creating room {name}").json()
            room_ids[name] = room["id"]
            for member in members:
                _check(await http.post(f"/api/chat/rooms/{room['id']}/members",
                                       headers=auth(DEMO_ADMIN), json={"username": member}),
                       f"adding {member} to {name}")
        for room, author, content in DEMO_CONVERSATION:
            _check(await http.post(f"/api/chat/rooms/{room_ids[room]}/messages",
                                   headers=auth(author), json={"content": content}),
                   f"posting in {room}")

    return [
        f"Demo data added: {len(DEMO_ROOMS)} rooms, {len(DEMO_CONVERSATION)} messages.",
        f"Sign in at {base}/ as {DEMO_ADMIN} (administrator; the dashboard is {base}/dashboard)"
        f" or as {', '.join(DEMO_USERS)}; every demo password is {DEMO_PASSWORD!r}.",
    ]
