"""Message content without its markdown markers (docs/protocol.md, Message formatting).

Longer than 300 lines because it is one parser: the same subset, the same rules and the same
linear emphasis pass as the chat page's `services/chat/static/js/markdown.js`, which it
mirrors line for line so that a preview says what the page shows (both are checked against
`tests/fixtures/formatting_cases.json`). No I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

# JavaScript's whitespace (its `\s` and `trim()`), not Python's: both parsers must agree.
_SPACES = ("\t\n\v\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
           + "\u2028\u2029\u202f\u205f\u3000\ufeff")
_S = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
MAX_QUOTE_DEPTH = 3
MAX_EMPHASIS_DEPTH = 8
_FENCE = re.compile(r" {0,3}```(.*)")
_FENCE_END = re.compile(f" {{0,3}}```[{_S}]*")
_QUOTE = re.compile(r" {0,3}> ?(.*)")
_BULLET = re.compile(r" {0,3}[-*] +(.*)")
_ORDERED = re.compile(r" {0,3}([0-9]{1,9})[.)] +(.*)")
_ESCAPABLE = "\\`*_~[]()#@<>!"
_URL_AT = re.compile(f"https?://[^{_S}<>`]+", re.IGNORECASE)
_ANGLE_URL_AT = re.compile(f"<(https?://[^{_S}<>`]+)>", re.IGNORECASE)
_LINK_TARGET_AT = re.compile(f"\\((https?://[^{_S}()<>`]+)\\)", re.IGNORECASE)
_HAS_HOST = re.compile(f"https?://[^/?#{_S}]", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\"*_~"
# Chat's MENTION_RE (services/chat/domain/model.py); what comes before is checked apart.
_MENTION_AT = re.compile(r"@([A-Za-z0-9_][A-Za-z0-9_.-]{1,30}[A-Za-z0-9_])")
_BEFORE_MENTION_BAD = re.compile(r"[\w@.]", re.ASCII)
_ROOM_AT = re.compile(r"#([\w][\w.-]{0,99})")
_BEFORE_ROOM_OK = re.compile(f"[{_S}(\\[{{\"'*_~>,;:]")
_WORD = re.compile(r"[A-Za-z0-9]")


def plain_text(content: str) -> str:
    """`content` as words without markers: bold, italics, strike, code, quotes and links
    become their text, a list item a line of its own ("• " or its number)."""
    lines = content.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return _blocks_plain(_parse_blocks(lines, 0))


# --- blocks ----------------------------------------------------------------------------------


def _fence_of(line: str) -> re.Match[str] | None:
    m = _FENCE.fullmatch(line)
    return m if m is not None and "`" not in m.group(1) else None


def _starts_block(line: str, depth: int) -> bool:
    return (_fence_of(line) is not None
            or (depth < MAX_QUOTE_DEPTH and _QUOTE.fullmatch(line) is not None)
            or _BULLET.fullmatch(line) is not None or _ORDERED.fullmatch(line) is not None)


def _parse_blocks(lines: list[str], depth: int) -> list[dict]:
    blocks: list[dict] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip(_SPACES):
            i += 1
        elif (fence := _fence_of(line)) is not None:
            body = []
            i += 1
            while i < len(lines) and _FENCE_END.fullmatch(lines[i]) is None:
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence; an unclosed block runs to the end
            blocks.append({"type": "code_block", "text": "\n".join(body),
                           "lang": re.split(f"[{_S}]", fence.group(1).strip(_SPACES))[0][:30]})
        elif depth < MAX_QUOTE_DEPTH and _QUOTE.fullmatch(line) is not None:
            inner = []
            while i < len(lines) and (m := _QUOTE.fullmatch(lines[i])) is not None:
                inner.append(m.group(1))
                i += 1
            blocks.append({"type": "quote", "children": _parse_blocks(inner, depth + 1)})
        elif _BULLET.fullmatch(line) is not None or _ORDERED.fullmatch(line) is not None:
            ordered = _BULLET.fullmatch(line) is None
            marker = _ORDERED if ordered else _BULLET
            start_match = _ORDERED.fullmatch(line)
            items = []
            while i < len(lines) and (m := marker.fullmatch(lines[i])) is not None:
                items.append(_parse_inline(m.group(2 if ordered else 1), links=True))
                i += 1
            blocks.append({"type": "list", "ordered": ordered, "items": items,
                           "start": int(start_match.group(1)) if start_match else 1})
        else:
            para = [line]
            i += 1
            while i < len(lines) and lines[i].strip(_SPACES) and not _starts_block(lines[i], depth):
                para.append(lines[i])
                i += 1
            blocks.append({"type": "paragraph", "children": _parse_inline("\n".join(para),
                                                                          links=True)})
    return blocks


# --- inline ----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    type: str
    text: str = ""
    children: list[dict] = field(default_factory=list)
    prev: _Node | None = None
    next: _Node | None = None
    depth: int = 0
    first: _Node | None = None
    # delimiters only
    char: str = ""
    count: int = 0
    orig: int = 0
    can_open: bool = False
    can_close: bool = False
    pos: int = 0
    dprev: _Node | None = None
    dnext: _Node | None = None


class _Chain:
    """A doubly-linked list: wrapping a run of nodes in a strong is O(1)."""

    def __init__(self) -> None:
        self.head: _Node | None = None
        self.tail: _Node | None = None

    def push(self, node: _Node) -> None:
        node.prev, node.next = self.tail, None
        if self.tail is not None:
            self.tail.next = node
        else:
            self.head = node
        self.tail = node

    def unlink(self, node: _Node) -> None:
        if node.prev is not None:
            node.prev.next = node.next
        else:
            self.head = node.next
        if node.next is not None:
            node.next.prev = node.prev
        else:
            self.tail = node.prev


class _Delims:
    def __init__(self) -> None:
        self.head: _Node | None = None
        self.tail: _Node | None = None
        self.count = 0

    def unlink(self, d: _Node) -> None:
        if d.dprev is not None:
            d.dprev.dnext = d.dnext
        else:
            self.head = d.dnext
        if d.dnext is not None:
            d.dnext.dprev = d.dprev
        else:
            self.tail = d.dprev
        d.dprev = d.dnext = None


def _is_space(ch: str) -> bool:
    return ch == "" or ch in _SPACES


def _is_punct(ch: str) -> bool:
    return ch != "" and unicodedata.category(ch)[0] in "PS"


def _trim_url(url: str) -> str:
    end = len(url)
    opens, closes = url.count("("), url.count(")")
    while end > 0:
        ch = url[end - 1]
        if ch in _URL_TRAILING:
            end -= 1
        elif ch == ")" and closes > opens:
            end -= 1
            closes -= 1
        else:
            break
    return url[:end]


def _backtick_runs(text: str) -> dict[int, list[int]]:
    runs: dict[int, list[int]] = {}
    i = 0
    while i < len(text):
        if text[i] != "`":
            i += 1
            continue
        j = i
        while j < len(text) and text[j] == "`":
            j += 1
        runs.setdefault(j - i, []).append(i)
        i = j
    return runs


def _parse_inline(text: str, *, links: bool) -> list[dict]:
    """`links`: false inside a link's text, where no other link may start."""
    chain, delims = _Chain(), _Delims()
    runs = _backtick_runs(text)
    run_next = dict.fromkeys(runs, 0)
    next_of = {"]": -2, "[": -2}
    buffer: list[str] = []

    def add(node: _Node) -> None:
        if buffer:
            chain.push(_Node("text", "".join(buffer)))
            buffer.clear()
        chain.push(node)

    def find(ch: str, start: int) -> int:
        if next_of[ch] != -1 and next_of[ch] < start:
            next_of[ch] = text.find(ch, start)
        return next_of[ch]

    i, size = 0, len(text)
    while i < size:
        ch = text[i]
        before = text[i - 1] if i > 0 else ""
        if ch == "\\" and i + 1 < size and text[i + 1] in _ESCAPABLE:
            buffer.append(text[i + 1])
            i += 2
        elif ch == "`":
            n = 0
            while i + n < size and text[i + n] == "`":
                n += 1
            at = runs.get(n, [])
            while n in run_next and run_next[n] < len(at) and at[run_next[n]] <= i:
                run_next[n] += 1
            if n in run_next and run_next[n] < len(at):
                end = at[run_next[n]]
                code = text[i + n:end].replace("\n", " ")
                if code[:1] == " " and code[-1:] == " " and code.strip(_SPACES):
                    code = code[1:-1]
                add(_Node("code", code))
                i = end + n
            else:
                buffer.append("`" * n)
                i += n
        elif (ch == "<" and links and (m := _ANGLE_URL_AT.match(text, i))
              and _HAS_HOST.match(m.group(1))):
            add(_Node("link", children=[{"type": "text", "text": m.group(1)}]))
            i += len(m.group(0))
        elif ch == "[" and links and (found := _link_at(text, i, find)) is not None:
            add(found[0])
            i = found[1]
        elif (ch in "hH" and links and not _WORD.match(before) and (m := _URL_AT.match(text, i))
              and _HAS_HOST.match(url := _trim_url(m.group(0)))):
            add(_Node("link", children=[{"type": "text", "text": url}]))
            i += len(url)
        elif (ch == "@" and not _BEFORE_MENTION_BAD.match(before)
              and (m := _MENTION_AT.match(text, i))):
            add(_Node("mention", m.group(0)))
            i += len(m.group(0))
        elif (ch == "#" and (i == 0 or _BEFORE_ROOM_OK.match(before))
              and (m := _ROOM_AT.match(text, i))):
            name = m.group(1).rstrip(".-")
            add(_Node("room", f"#{name}"))
            i += len(name) + 1
        elif ch in "*_~":
            n = 0
            while i + n < size and text[i + n] == ch:
                n += 1
            if ch == "~" and n != 2:
                buffer.append(ch * n)
            else:
                after = text[i + n] if i + n < size else ""
                left, right = _flanking(before, after)
                if ch == "_":
                    can_open = left and (not right or _is_punct(before))
                    can_close = right and (not left or _is_punct(after))
                else:
                    can_open, can_close = left, right
                delims.count += 1
                node = _Node("delim", char=ch, count=n, orig=n, can_open=can_open,
                             can_close=can_close, pos=delims.count)
                add(node)
                if can_open or can_close:
                    node.dprev = delims.tail
                    if delims.tail is not None:
                        delims.tail.dnext = node
                    else:
                        delims.head = node
                    delims.tail = node
            i += n
        else:
            buffer.append(ch)
            i += 1
    if buffer:
        chain.push(_Node("text", "".join(buffer)))
    _emphasis(chain, delims)
    return _to_list(chain.head)


def _flanking(before: str, after: str) -> tuple[bool, bool]:
    space_before, space_after = _is_space(before), _is_space(after)
    punct_before, punct_after = _is_punct(before), _is_punct(after)
    left = not space_after and (not punct_after or space_before or punct_before)
    right = not space_before and (not punct_before or space_after or punct_after)
    return left, right


def _link_at(text: str, i: int, find: Callable[[str, int], int]) -> tuple[_Node, int] | None:
    """`[text](https://...)` at `i`: only http and https; the text holds no brackets."""
    close = find("]", i + 1)
    if close < 0:
        return None
    opening = find("[", i + 1)
    if opening != -1 and opening < close:
        return None
    if text[close + 1:close + 2] != "(":
        return None
    m = _LINK_TARGET_AT.match(text, close + 1)
    if m is None or not _HAS_HOST.match(m.group(1)):
        return None
    label = text[i + 1:close]
    children = (_parse_inline(label, links=False) if label.strip(_SPACES)
                else [{"type": "text", "text": m.group(1)}])
    return _Node("link", children=children), close + 1 + len(m.group(0))


def _depth_between(opener: _Node, closer: _Node) -> int:
    depth, n = 0, opener.next
    while n is not None and n is not closer:
        depth = max(depth, n.depth)
        n = n.next
    return depth


def _emphasis(chain: _Chain, delims: _Delims) -> None:
    """CommonMark's "process emphasis", with its openers_bottom so that it stays linear."""
    bottom: dict[str, int] = {}
    closer = delims.head
    while closer is not None:
        if not closer.can_close:
            closer = closer.dnext
            continue
        key = "~" if closer.char == "~" else f"{closer.char}{closer.can_open}{closer.orig % 3}"
        floor = bottom.get(key, 0)
        opener = closer.dprev
        while opener is not None and opener.pos > floor:
            if opener.char == closer.char and opener.can_open:
                odd_match = (closer.char != "~" and (opener.can_close or closer.can_open)
                             and (opener.orig + closer.orig) % 3 == 0
                             and not (opener.orig % 3 == 0 and closer.orig % 3 == 0))
                if not odd_match:
                    break
            opener = opener.dprev
        # Deeper than anyone types is left as text, as if no opener matched.
        if (opener is None or opener.pos <= floor
                or _depth_between(opener, closer) >= MAX_EMPHASIS_DEPTH):
            bottom[key] = closer.dprev.pos if closer.dprev is not None else 0
            following = closer.dnext
            if not closer.can_open:
                delims.unlink(closer)
            closer = following
            continue
        use = 2 if closer.char == "~" or (opener.count >= 2 and closer.count >= 2) else 1
        kind = "strike" if closer.char == "~" else ("strong" if use == 2 else "em")
        d = closer.dprev
        while d is not None and d is not opener:
            earlier = d.dprev
            delims.unlink(d)
            d = earlier
        _wrap(opener, closer, kind)
        opener.count -= use
        closer.count -= use
        if opener.count == 0:
            delims.unlink(opener)
            chain.unlink(opener)
        if closer.count == 0:
            following = closer.dnext
            delims.unlink(closer)
            chain.unlink(closer)
            closer = following


def _wrap(opener: _Node, closer: _Node, kind: str) -> None:
    first = None if opener.next is closer else opener.next
    node = _Node(kind, depth=_depth_between(opener, closer) + 1, first=first, prev=opener,
                 next=closer)
    if first is not None:
        first.prev = None
        assert closer.prev is not None
        closer.prev.next = None
    opener.next = node
    closer.prev = node


def _to_list(head: _Node | None) -> list[dict]:
    out: list[dict] = []
    n = head
    while n is not None:
        if n.type == "delim":
            item = {"type": "text", "text": n.char * n.count}
        elif n.type in ("strong", "em", "strike"):
            item = {"type": n.type, "children": _to_list(n.first)}
        elif n.type == "link":
            item = {"type": "link", "children": n.children}
        else:
            item = {"type": n.type, "text": n.text}
        if item["type"] == "text" and out and out[-1]["type"] == "text":
            out[-1]["text"] += item["text"]
        elif item["type"] != "text" or item["text"]:
            out.append(item)
        n = n.next
    return out


# --- plain text ------------------------------------------------------------------------------


def _inline_plain(nodes: list[dict]) -> str:
    return "".join(n["text"] if "text" in n else _inline_plain(n["children"]) for n in nodes)


def _blocks_plain(blocks: list[dict]) -> str:
    out: list[str] = []
    for b in blocks:
        if b["type"] == "paragraph":
            out.append(_inline_plain(b["children"]))
        elif b["type"] == "code_block":
            out.append(b["text"])
        elif b["type"] == "quote":
            out.append(_blocks_plain(b["children"]))
        else:
            for k, item in enumerate(b["items"]):
                marker = f"{b['start'] + k}." if b["ordered"] else "•"
                out.append(f"{marker} {_inline_plain(item)}")
    return "\n".join(out)
