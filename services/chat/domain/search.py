"""Full-text search: the query syntax (`parse`), the words of a text as the index sees them
(`words`, `fold`), and which parts of a message a query matched (`highlights`). No I/O.

A query is words, "phrases", prefixes (`deplo*`) and filters: `in:#room`, `from:@user`,
`before:YYYY-MM-DD`, `after:YYYY-MM-DD`, `has:file`, `is:thread`. Every term is ANDed.
What the user typed reaches no index syntax: a term is kept as its folded words (letters
and digits only), which the adapters quote (`docs/protocol.md`, Search).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from services.chat.domain.model import Invalid

QUERY_MAX_CHARS = 500
TERMS_MAX = 16
PREFIX_MIN_CHARS = 2  # the FTS5 table keeps prefix indexes of 2 and 3 characters
SEARCH_MAX_PAGE = 100
FILTERS = ("in", "from", "before", "after", "has", "is")


class InvalidQuery(Invalid):
    """422 `invalid_query`; its problem's `detail` (and title) say what is wrong."""


def invalid_query(detail: str) -> InvalidQuery:
    return InvalidQuery("invalid_query", detail)


def _is_word_char(char: str) -> bool:
    """Letters, digits, combining marks and private-use characters (SQLite's unicode61)."""
    return unicodedata.category(char)[0] in "LNM" or unicodedata.category(char) == "Co"


def fold(text: str) -> str:
    """Case and accents away, as the index compares words: "Café" → "cafe", "ÑANDÚ" →
    "nandu" (SQLite's `unicode61 remove_diacritics 2`, PostgreSQL's `unaccent`)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def words(text: str) -> Iterator[tuple[int, int, str]]:
    """Each word of `text`: its [start, end) in code points and its folded form."""
    start = None
    for index, char in enumerate(text):
        if _is_word_char(char):
            if start is None:
                start = index
        elif start is not None:
            yield start, index, fold(text[start:index])
            start = None
    if start is not None:
        yield start, len(text), fold(text[start:])


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase: its folded words in order; `prefix`: the last is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    terms: tuple[Term, ...] = ()
    room: str | None = None  # in:#room (a room name as typed)
    author: str | None = None  # from:@user (a username, lower-cased)
    before: datetime | None = None  # created before this instant (UTC)
    after: datetime | None = None  # created at or after this instant (UTC)
    has_file: bool = False
    is_thread: bool = False
    filters: frozenset[str] = field(default_factory=frozenset)

    @property
    def has_filters(self) -> bool:
        return bool(self.filters)


def _split(text: str) -> Iterator[tuple[str, bool, bool]]:
    """The query's pieces: (text, quoted anywhere, quoted from its start). A quote runs to
    the next quote; `in:"a b"` is one piece, its quotes removed."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        first = i
        piece: list[str] = []
        quoted = False
        while i < n and not text[i].isspace():
            if text[i] == '"':
                end = text.find('"', i + 1)
                if end < 0:
                    raise invalid_query(f"A quote opened at position {i + 1} is never "
                                        "closed.")
                piece.append(text[i + 1:end])
                quoted = True
                i = end + 1
            else:
                piece.append(text[i])
                i += 1
        yield "".join(piece), quoted, text[first] == '"'


def _date(key: str, value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise invalid_query(f"{key}: takes a date as YYYY-MM-DD, not {value!r}.") from None
    if len(value) != 10:
        raise invalid_query(f"{key}: takes a date as YYYY-MM-DD, not {value!r}.")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _term(text: str, quoted: bool) -> Term | None:
    prefix = False
    if not quoted and text.endswith("*"):
        text = text[:-1]
        prefix = True
    if not quoted and "*" in text:
        raise invalid_query("A * goes at the end of a word (deplo*), nowhere else.")
    tokens = tuple(word for _, _, word in words(text))
    if prefix and (not tokens or len(tokens[-1]) < PREFIX_MIN_CHARS):
        raise invalid_query(f"A * needs at least {PREFIX_MIN_CHARS} letters or digits "
                            "before it (deplo*).")
    return Term(tokens, prefix) if tokens else None


def parse(text: str) -> SearchQuery:
    """The query, or `Invalid("invalid_query")` with what is wrong in its message."""
    if len(text) > QUERY_MAX_CHARS:
        raise invalid_query(f"A search is at most {QUERY_MAX_CHARS} characters.")
    terms: list[Term] = []
    found: dict[str, object] = {}
    for piece, quoted, phrase in _split(text):
        key, colon, value = piece.partition(":")
        if colon and key.lower() in FILTERS and not phrase:
            key = key.lower()
            if key in found:
                raise invalid_query(f"{key}: is given twice; give it once.")
            found[key] = _filter(key, value)
            continue
        term = _term(piece, quoted)
        if term is not None:
            terms.append(term)
    if len(terms) > TERMS_MAX:
        raise invalid_query(f"A search has at most {TERMS_MAX} words or phrases.")
    if not terms and not found:
        raise invalid_query("Type a word to search for, or a filter such as in:#room.")
    return SearchQuery(
        terms=tuple(terms),
        room=found.get("in"),  # type: ignore[arg-type]
        author=found.get("from"),  # type: ignore[arg-type]
        before=found.get("before"),  # type: ignore[arg-type]
        after=found.get("after"),  # type: ignore[arg-type]
        has_file="has" in found,
        is_thread="is" in found,
        filters=frozenset(found),
    )


def _filter(key: str, value: str) -> object:
    if key == "in":
        name = value.removeprefix("#").strip()
        if not name:
            raise invalid_query("in: takes a room name: in:#general.")
        return name
    if key == "from":
        name = value.removeprefix("@").strip()
        if not name:
            raise invalid_query("from: takes a username: from:@ana.")
        return name.lower()
    if key == "before":
        return _date(key, value)
    if key == "after":  # after the day given: from the next midnight (UTC) on
        return _date(key, value) + timedelta(days=1)
    if key == "has":
        if value.lower() != "file":
            raise invalid_query(f"has: knows only has:file, not has:{value}.")
        return True
    if value.lower() != "thread":
        raise invalid_query(f"is: knows only is:thread, not is:{value}.")
    return True


def _matches(token: str, wanted: str, prefix: bool) -> bool:
    return token.startswith(wanted) if prefix else token == wanted


def highlights(content: str, terms: Sequence[Term]) -> list[list[int]]:
    """The [start, end) code-point ranges of `content` each term matched (a phrase is one
    range, from its first word's start to its last word's end), sorted, overlaps merged."""
    found = list(words(content))
    spans: list[tuple[int, int]] = []
    for term in terms:
        n = len(term.tokens)
        for i in range(len(found) - n + 1):
            if all(_matches(found[i + k][2], term.tokens[k], term.prefix and k == n - 1)
                   for k in range(n)):
                spans.append((found[i][0], found[i + n - 1][1]))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
