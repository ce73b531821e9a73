"""Files in real browsers: an image attached with the composer's button shows as its thumbnail
on another person's page; any other file as a download link; a refused file shows the
server's reason and sends nothing. Avatars: uploaded in the profile editor, drawn for others."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image, ImageDraw

from tests.e2e.chat_page import (
    DEMO_PASSWORD,
    SCREENSHOTS,
    Person,
    create_room,
    messages,
    open_room,
    send,
    sign_in,
    sign_up,
    unique,
    wait_connected,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def _terrace(width: int, height: int) -> bytes:
    """A picture worth a screenshot: a sky fading into the sea, a sun, a terrace's rail."""
    sky = Image.linear_gradient("L").resize((width, height))
    picture = Image.merge("RGB", (sky.point(lambda v: 250 - v // 3),
                                  sky.point(lambda v: 170 - v // 4),
                                  sky.point(lambda v: 90 + v // 2)))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((width * 0.62, height * 0.18, width * 0.78, height * 0.39), fill=(255, 214, 120))
    draw.rectangle((0, height * 0.72, width, height), fill=(38, 74, 120))
    for x in range(0, width, width // 16):
        draw.rectangle((x, height * 0.8, x + 6, height), fill=(235, 235, 230))
    draw.rectangle((0, height * 0.8, width, height * 0.83), fill=(235, 235, 230))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def _two_in_a_room(people: Callable[..., Person]) -> tuple[Person, Person, str]:
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice)
    sign_up(bob)
    name = unique("ficheros")
    create_room(alice, name)
    open_room(alice, name)
    bob.page.reload()
    wait_connected(bob)
    open_room(bob, name)
    bob.by("join-room").click()
    bob.by("join-room").wait_for(state="hidden")
    return alice, bob, name


def _attach(person: Person, name: str, mime: str, data: bytes) -> None:
    person.by("attach-input").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_an_image_and_a_file_reach_the_other_page_and_a_refused_file_sends_nothing(
        people: Callable[..., Person]) -> None:
    alice, bob, _ = _two_in_a_room(people)

    # An image through the attach button: uploaded at once, then sent with a caption.
    _attach(alice, "terraza.png", "image/png", _terrace(640, 480))
    alice.page.locator('[data-testid="upload-chip"][data-state="done"]').wait_for()
    send(alice, "La terraza")
    alice.by("upload-tray").wait_for(state="hidden")

    # Bob's page draws the thumbnail, sized before it loads, linking to the whole file.
    shown = messages(bob, "La terraza")
    thumb = shown.get_by_test_id("attachment-thumbnail")
    thumb.wait_for()
    assert thumb.get_attribute("alt") == "terraza.png"
    assert (thumb.get_attribute("width"), thumb.get_attribute("height")) == ("320", "240")
    bob.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    link = shown.get_by_test_id("attachment-image")
    assert link.get_attribute("target") == "_blank"
    assert (link.get_attribute("href") or "").startswith("/api/chat/files/")

    # Any other file, with no text at all: a download link with its name and size.
    _attach(alice, "notas.txt", "text/plain", b"orden del dia\n" * 100)
    alice.page.locator('[data-testid="upload-chip"][data-state="done"]').wait_for()
    alice.by("send").click()
    download = bob.page.locator('[data-testid="message"] [data-testid="attachment-file"]')
    download.wait_for()
    assert download.get_by_test_id("attachment-name").inner_text() == "notas.txt"
    assert download.get_by_test_id("attachment-size").inner_text().replace("\u202f", " ") \
        == "1.4 kB"
    assert download.get_attribute("download") == "notas.txt"
    with bob.page.expect_download() as fetched:
        download.click()
    assert fetched.value.suggested_filename == "notas.txt"

    # A zero-byte file is refused: the tray says why and nothing is sent.
    before = messages(bob).count()
    _attach(alice, "vacio.txt", "text/plain", b"")
    error = alice.page.locator('[data-testid="upload-chip"][data-state="failed"]')
    error.get_by_test_id("upload-error").filter(has_text="empty").wait_for()
    alice.by("send").click()  # nothing to send: the refused file does not go
    send(alice, "después del vacío")
    messages(bob, "después del vacío").wait_for()
    assert messages(bob).count() == before + 1
    assert messages(bob, "después del vacío").get_by_test_id("attachments").count() == 0
    bob.page.screenshot(path=str(SCREENSHOTS / "files.png"))


def test_an_avatar_uploaded_in_the_profile_shows_to_others_and_initials_stay_without(
        people: Callable[..., Person]) -> None:
    alice, bob, name = _two_in_a_room(people)
    send(bob, "sin foto")
    author = messages(alice, "sin foto").locator(".avatar")
    author.wait_for()
    assert author.locator("img").count() == 0  # no avatar: initials

    alice.by("me-avatar").click()
    picture_png = _png(300, 200, (200, 60, 60))
    alice.by("profile-avatar-input").set_input_files(
        files=[{"name": "yo.png", "mimeType": "image/png", "buffer": picture_png}])
    alice.page.locator('[data-testid="me-avatar"] img.avatar-img').wait_for()
    alice.by("profile-editor").get_by_role("button", name="Cancel").click()
    send(alice, "con foto")

    # Bob's page learns it from the members list and draws it on her messages.
    bob.page.reload()
    wait_connected(bob)
    open_room(bob, name)
    picture = messages(bob, "con foto").locator(".avatar img.avatar-img")
    picture.wait_for()
    bob.page.wait_for_function(
        "img => img.complete && img.naturalWidth === 256", arg=picture.element_handle())


def test_the_dashboard_shows_the_storage_an_avatar_takes_live(
        people: Callable[..., Person]) -> None:
    ana = people("ana")  # the demo's administrator
    sign_in(ana, password=DEMO_PASSWORD)
    board = ana.context.new_page()
    board.set_default_timeout(15_000)
    board.goto("/dashboard")
    board.locator("#link.pill-live").wait_for()
    storage = board.get_by_test_id("storage-used")
    board.wait_for_function("() => /\\d/.test(document.querySelector('#k-storage').innerText)")
    before = storage.get_attribute("title")

    noise = io.BytesIO()
    Image.effect_noise((97, 89), 80).convert("RGB").save(noise, "PNG")
    ana.page.bring_to_front()
    ana.by("me-avatar").click()
    ana.by("profile-avatar-input").set_input_files(
        files=[{"name": "ana.png", "mimeType": "image/png", "buffer": noise.getvalue()}])
    ana.page.locator('[data-testid="me-avatar"] img.avatar-img').wait_for()

    # The avatar's bytes arrive as a storage_stats delta: no reload.
    board.wait_for_function("before => document.querySelector('#k-storage').title !== before",
                            arg=before)
    assert "avatar" in board.get_by_test_id("storage-files").inner_text()
