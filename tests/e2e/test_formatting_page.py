"""Formatted messages as people see them: bold, code, links, quotes and lists drawn as
elements in the other person's page, markup that stays text, and the parser's own table
checked in the browser (js/markdown.js and js/formatted.js, loaded from the served files)."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.notifications.domain import plain_text
from tests.e2e.chat_page import (
    SCREENSHOTS,
    Person,
    create_room,
    messages,
    open_room,
    room,
    send,
    sign_up,
    unique,
    wait_connected,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "formatting_cases.json")
                   .read_text(encoding="utf-8"))["cases"]


def a(href: str, text: str) -> str:
    """A formatted link as the serialiser writes it (`text`: its children, serialised), its
    address also on hover."""
    return (f'a.md-link[href="{href}" rel="noopener noreferrer" target="_blank" '
            f'title="{href}"]({text})')


# What render(parse(text)) draws, written compactly: tag[.class][attrs](children), text in
# quotes. The room "general" is visible (id 7); the reader is "bob".
DOM_CASES = [
    ("**All green** `make up` https://example.org",
     'strong("All green") " " code("make up") " " ' + a("https://example.org/",
                                                        '"https://example.org"')),
    ("__bold__ *it* _it_ ~~gone~~",
     'strong("bold") " " em("it") " " em("it") " " s("gone")'),
    ("snake_case_words https://example.org/a_b_c.",
     '"snake_case_words " ' + a("https://example.org/a_b_c", '"https://example.org/a_b_c"')
     + ' "."'),
    ("(see https://example.org/x), then",
     '"(see " ' + a("https://example.org/x", '"https://example.org/x"') + ' "), then"'),
    ("<https://example.org/q?a=1>",
     a("https://example.org/q?a=1", '"https://example.org/q?a=1"')),
    ("[the docs](https://docs.example.org/a)",
     a("https://docs.example.org/a", '"the docs"')),
    ("[https://bank.example](https://evil.example/x)",
     a("https://evil.example/x", '"https://bank.example"')),
    ("[**bold** <https://x.example>](https://y.example)",
     a("https://y.example/", 'strong("bold") " <https://x.example>"')),
    ("[x](javascript:alert(1))", '"[x](javascript:alert(1))"'),
    ("[x](data:text/html,hi) vbscript:msgbox", '"[x](data:text/html,hi) vbscript:msgbox"'),
    ("javascript:alert(1)", '"javascript:alert(1)"'),
    ("<img src=x onerror=alert(1)>", '"<img src=x onerror=alert(1)>"'),
    ("**<b>x</b>**", 'strong("<b>x</b>")'),
    ("**a *b", '"**a *b"'),
    ("***both***", 'em(strong("both"))'),
    ("`**no** _bold_`", 'code("**no** _bold_")'),
    ("hi @bob and @carol", '"hi " span.mention.mention-me("@bob") " and " span.mention("@carol")'),
    ("see #general, not #nowhere",
     '"see " a.room-link[href="#/rooms/7"]("#general") ", not #nowhere"'),
    ("```py\nx = '**y**'\n  <b>\n```",
     'div.code-block(span.code-lang("py") pre(code("x = \'**y**\'\\n  <b>")))'),
    ("> quoted **text**\n> more",
     'blockquote(p.md-p("quoted " strong("text") "\\nmore"))'),
    ("Todo:\n- milk\n* `eggs`",
     'p.md-p("Todo:") ul(li("milk") li(code("eggs")))'),
    ("3. three\n4. four", 'ol[start="3"](li("three") li("four"))'),
    ("one\n\ntwo", 'p.md-p("one") p.md-p("two")'),
]

# Serialises a node the way DOM_CASES writes it; the only attributes named are those a
# formatted message may carry.
RENDER_JS = """async (texts) => {
  const md = await import('/static/js/markdown.js');
  const view = await import('/static/js/formatted.js');
  const attrs = ['href', 'rel', 'target', 'title', 'start'];
  const ser = (n) => {
    if (n.nodeType === Node.TEXT_NODE) return JSON.stringify(n.data);
    const cls = n.className ? '.' + n.className.split(' ').join('.') : '';
    const named = attrs.filter((a) => n.hasAttribute(a))
      .map((a) => `${a}=${JSON.stringify(n.getAttribute(a))}`);
    const inner = [...n.childNodes].map(ser).join(' ');
    const list = named.length ? `[${named.join(' ')}]` : '';
    return `${n.tagName.toLowerCase()}${cls}${list}(${inner})`;
  };
  return texts.map((text) => {
    const box = document.createElement('div');
    box.append(view.render(md.parse(text),
      { me: 'bob', roomId: (name) => (name === 'general' ? 7 : null) }));
    box.normalize();
    return [...box.childNodes].map(ser).join(' ');
  });
}"""


# Pieces of messages that the parsers treat differently from plain text, and some that
# look like them: random strings of these must read the same in the page and in Python.
PIECES = ["*", "**", "***", "_", "__", "~~", "~", "`", "``", "```", "```py", "\n", "\r\n",
          "> ", "> > ", "- ", "* ", "1. ", "2) ", "a", "b c", " ", "[", "]", "(", ")",
          "https://x.org/a_b", "http://", "<", "<https://y.z>", ">", "@bob", "@ro", "#room",
          "#1.", "\\", "é", "😀", ".", ",", "!", "x_y", "](https://q.r)", "[t](https://u.v)",
          "\u2028", "\t", "\uff11", "\u00a0", "\ufeff", "C#", "a@b.c"]


def _join_by_page(person: Person, name: str) -> None:
    person.page.reload()
    wait_connected(person)
    open_room(person, name)
    join = person.by("join-room")
    if join.is_visible():
        join.click()
        join.wait_for(state="hidden")


def _content(person: Person, text: str) -> Any:
    return messages(person, text).last.locator('[data-testid="message-content"]')


def test_the_parser_draws_each_case_as_elements_and_the_plain_table_matches(
        people: Callable[..., Person]) -> None:
    page = people(unique("reader")).page
    drawn = page.evaluate(RENDER_JS, [text for text, _ in DOM_CASES])
    assert dict(zip([text for text, _ in DOM_CASES], drawn, strict=True)) == dict(DOM_CASES)

    plain = page.evaluate("""async (texts) => {
      const md = await import('/static/js/markdown.js');
      return texts.map((t) => md.plainText(t));
    }""", [c["input"] for c in CASES])
    assert {c["name"]: got for c, got in zip(CASES, plain, strict=True)} == \
        {c["name"]: c["plain"] for c in CASES}

    rng = random.Random(15)
    texts = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 40))) for _ in range(3000)]
    in_page = page.evaluate("""async (texts) => {
      const md = await import('/static/js/markdown.js');
      return texts.map((t) => md.plainText(t));
    }""", texts)
    differ = [(text, got, plain_text(text)) for text, got in zip(texts, in_page, strict=True)
              if got != plain_text(text)]
    assert differ == []


def test_hostile_markers_render_as_text_in_the_browser(people: Callable[..., Person]) -> None:
    """Ten times the longest message: each renders, keeps its text and makes no element of
    its own (an image from the payload); the time it takes is `bench/formatting.py`'s."""
    page = people(unique("reader")).page
    hostile = [piece * (40_000 // len(piece)) for piece in (
        "*", "_", "*a ", "*a _b ", "`a ``", "[", "[a](https://x ", "> ", "- *a*\n", "~~a ")]
    hostile += ["**a " * 5000 + "b** " * 5000, "*a " * 6000 + "b" + " c*" * 6000,
                "<img src=x onerror=alert(1)>" * 1400]
    lengths = page.evaluate("""async (texts) => {
      const md = await import('/static/js/markdown.js');
      const view = await import('/static/js/formatted.js');
      return texts.map((text) => {
        const box = document.createElement('div');
        box.append(view.render(md.parse(text), {}));
        return box.textContent.length;
      });
    }""", hostile)
    for text, length in zip(hostile, lengths, strict=True):
        assert length > 0, text[:20]
    assert page.locator("img").count() == 0


def test_a_formatted_conversation_as_the_other_person_sees_it(
        people: Callable[..., Person]) -> None:
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice)
    sign_up(bob)
    name, other = unique("fmt"), unique("lobby")
    create_room(alice, other)
    create_room(alice, name)
    open_room(alice, name)
    _join_by_page(bob, name)

    send(alice, "**All green** `make up` https://example.org")
    shown = _content(bob, "All green")
    shown.wait_for()
    assert shown.locator("strong").inner_text() == "All green"
    assert shown.locator("code").inner_text() == "make up"
    link = shown.locator("a")
    assert link.inner_text() == "https://example.org"
    assert (link.get_attribute("href"), link.get_attribute("rel"), link.get_attribute("target")) \
        == ("https://example.org/", "noopener noreferrer", "_blank")

    code = "```sh\nmake up && curl -fsS http://localhost:8000/healthz | jq '.status' # " \
           + "a long line " * 8 + "\n**not bold**\n```"
    send(alice, code)
    pre = _content(bob, "not bold").locator("pre")
    pre.wait_for()
    assert pre.locator("strong").count() == 0
    assert "**not bold**" in pre.inner_text()
    assert _content(bob, "not bold").locator(".code-lang").inner_text() == "sh"

    send(alice, f"> ship it\n> today\n\nPlan:\n- build\n- test\n1. deploy\n\nsee #{other}")
    block = _content(bob, "ship it")
    block.locator("blockquote").filter(has_text="ship it").wait_for()
    assert block.locator("ul > li").all_inner_texts() == ["build", "test"]
    assert block.locator("ol > li").all_inner_texts() == ["deploy"]
    bob.page.screenshot(path=str(SCREENSHOTS / "formatting.png"))

    # A #room link opens that room in the page; a room nobody can see stays text.
    block.locator("a.room-link", has_text=f"#{other}").click()
    bob.by("room-title").filter(has_text=other).wait_for()
    open_room(bob, name)

    # Markup in any disguise stays text: nothing runs, no element is made from it.
    payloads = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=2</script>",
                "[x](javascript:window.__xss=3)", "**<b>x</b>** <svg onload=window.__xss=4>",
                '<a href="javascript:window.__xss=5">click</a> [y](data:text/html,hi)',
                "<https://example.org/\"onmouseover=window.__xss=6>"]
    for payload in payloads:
        send(alice, payload)
    for person in (alice, bob):
        messages(person, "[y](data:text/html,hi)").wait_for()
        box = person.page.locator('[data-testid="messages"]')
        assert box.locator(".message-content :is(img, script, svg, b, iframe)").count() == 0
        hrefs = box.locator(".message-content a").evaluate_all(
            "nodes => nodes.map((a) => a.getAttribute('href'))")
        assert hrefs and all(h.startswith(("https://", "http://", "#/rooms/")) for h in hrefs), \
            hrefs
        assert _content(person, "onerror").inner_text() == '<img src=x onerror="window.__xss=1">'
        assert _content(person, "<b>x</b>").locator("strong").inner_text() == "<b>x</b>"
    for person in (alice, bob):
        person.page.hover('[data-testid="messages"] .message-content >> nth=-1')
    time.sleep(0.5)  # an onerror or onload handler would have fired by now
    for person in (alice, bob):
        assert person.page.evaluate("typeof window.__xss") == "undefined"
        assert person.dialogs == []

    # An edit is formatted again when it arrives.
    send(alice, "plain for now")
    mine = messages(alice, "plain for now").and_(alice.page.locator('[data-state="sent"]'))
    mine.wait_for()
    mine = alice.page.locator(
        f'[data-testid="message"][data-message-id="{mine.get_attribute("data-message-id")}"]')
    mine.hover()
    mine.locator('[data-testid="message-edit"]').click()
    editor = alice.by("message-edit-input")
    editor.fill("now *edited* with ~~strike~~\n- and\n- a list")
    editor.press("Enter")
    edited = _content(bob, "now edited")
    edited.locator("em").filter(has_text="edited").wait_for()
    assert edited.locator("s").inner_text() == "strike"
    assert edited.locator("li").all_inner_texts() == ["and", "a list"]
    # Editing it again starts from its lines, not one line.
    mine.locator("li").filter(has_text="a list").wait_for()
    mine.hover()
    mine.locator('[data-testid="message-edit"]').click()
    assert editor.input_value() == "now *edited* with ~~strike~~\n- and\n- a list"
    editor.press("Escape")

    # At phone width a long code line scrolls inside its block; the message stays on screen.
    bob.page.set_viewport_size({"width": 390, "height": 800})
    pre = _content(bob, "not bold").locator("pre")
    pre.scroll_into_view_if_needed()
    sizes = pre.evaluate("p => [p.scrollWidth, p.clientWidth, "
                         "p.closest('.message').getBoundingClientRect().right]")
    assert sizes[0] > sizes[1] and sizes[2] <= 390, sizes
    assert alice.console_errors == [] and bob.console_errors == []


def test_a_mention_with_markers_is_a_plain_toast_and_inbox_entry(
        people: Callable[..., Person]) -> None:
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice)
    sign_up(bob)
    name, elsewhere = unique("fmt"), unique("quiet")
    create_room(alice, name)
    create_room(alice, elsewhere)
    open_room(alice, name)
    _join_by_page(bob, name)
    open_room(bob, elsewhere)  # bob looks at another room: the mention is a toast

    send(alice, f"@{bob.username} **urgent**: run `make up` _now_, see <https://example.org>")
    toast = bob.page.locator('[data-testid="toast"][data-kind="notification"]')
    toast.filter(has_text="urgent").wait_for()
    body = toast.locator(".toast-body").inner_text()
    assert body == f"@{bob.username} urgent: run make up now, see https://example.org"
    bob.by("inbox-button").click()
    entry = bob.page.locator('[data-testid="inbox-item"] .inbox-content')
    entry.filter(has_text="urgent").wait_for()
    assert entry.first.inner_text() == body
    assert room(bob, name).count() == 1
