"""Word filters: a rule's pattern (whole words, case- and accent-insensitive, `*` as a word's
suffix wildcard), its action (`block`, `hold`) and scope (the server, or one room), and the
compiled matcher of every scope. Pure: no I/O; one regex per scope and action, compiled
when the rules change, never per message."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from services.chat.domain.model import Invalid

FilterAction = Literal["block", "hold"]
FilterScope = Literal["server", "room"]
FILTER_ACTIONS: tuple[FilterAction, ...] = ("block", "hold")
PATTERN_MAX_CHARS = 64
PATTERN_MAX_WORDS = 6
# A wildcard needs this many letters before it: "a*" would catch half the dictionary.
WILDCARD_MIN_PREFIX = 2
RULES_MAX_PER_SCOPE = 200

# A "word character" is a letter, mark or digit (not `_`: "bad_word" holds the word "bad").
_WORD = r"[^\W_]"
_GAP = r"[\W_]"
_SEP, _STAR = "\x00sep", "\x00star"


class ContentBlocked(Invalid):
    """A word filter refuses this text (422 `content_blocked`): says whose rule (`scope`),
    never which word."""

    def __init__(self, scope: FilterScope) -> None:
        whose = "the server's" if scope == "server" else "this room's"
        super().__init__("content_blocked", f"Blocked by {whose} word filter.")
        self.scope: FilterScope = scope

    def extra(self) -> dict[str, str]:
        """What the problem details and the `error` frame carry besides the code."""
        return {"scope": self.scope}


@dataclass(frozen=True, slots=True)
class WordFilterRule:
    id: int
    room_id: int | None  # None: the whole server
    pattern: str  # as the admin typed it (trimmed)
    action: FilterAction
    created_by: int | None
    created_at: datetime

    @property
    def scope(self) -> FilterScope:
        return "server" if self.room_id is None else "room"


def fold(text: str) -> str:
    """Case and accents away: "Café" and "CAFE" are "cafe"; compatibility forms too
    (NFKD: "ﬁ" is "fi", full-width letters are ASCII)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def pattern_words(pattern: str) -> list[str]:
    """A pattern's words, folded; the last may end in `*`. Refuses (422
    `invalid_word_filter`) what cannot be a rule; whatever the pattern holds is matched as
    literal text, never as a regular expression."""
    trimmed = pattern.strip()
    if not trimmed or len(trimmed) > PATTERN_MAX_CHARS:
        raise Invalid("invalid_word_filter",
                      f"A word filter is 1-{PATTERN_MAX_CHARS} characters.")
    words = []
    for chunk in fold(trimmed).split():
        star = chunk.endswith("*")
        body = chunk[:-1] if star else chunk
        if "*" in body:
            raise Invalid("invalid_word_filter", "`*` may only end a word (a suffix wildcard).")
        # Punctuation inside a chunk separates words: "bad-word" is the phrase "bad word".
        parts = re.findall(_WORD + "+", body)
        if not parts:
            raise Invalid("invalid_word_filter",
                          "A word filter needs letters or digits in each word.")
        if star and len(parts[-1]) < WILDCARD_MIN_PREFIX:
            raise Invalid("invalid_word_filter", f"A wildcard needs at least "
                          f"{WILDCARD_MIN_PREFIX} letters before `*`.")
        words.extend(parts[:-1])
        words.append(parts[-1] + ("*" if star else ""))
    if len(words) > PATTERN_MAX_WORDS:
        raise Invalid("invalid_word_filter",
                      f"A word filter has at most {PATTERN_MAX_WORDS} words.")
    return words


def validate_rule(pattern: str, action: str) -> tuple[str, FilterAction]:
    """The pattern trimmed (checked by `pattern_words`) and the action."""
    if action not in FILTER_ACTIONS:
        raise Invalid("invalid_word_filter_action", "action is `block` or `hold`.")
    pattern_words(pattern)
    return pattern.strip(), action  # type: ignore[return-value]


def pattern_key(pattern: str) -> str:
    """Two patterns with one key are the same rule ("Café" and "cafe")."""
    return " ".join(pattern_words(pattern))


def _tokens(words: list[str]) -> list[str]:
    out: list[str] = []
    for i, word in enumerate(words):
        if i:
            out.append(_SEP)
        star = word.endswith("*")
        out.extend(word[:-1] if star else word)
        if star:
            out.append(_STAR)
    return out


_TOKEN_RE = {_SEP: _GAP + "++", _STAR: _WORD + "*+"}
_END = ""  # a trie key: a pattern ends here


def _trie_regex(node: dict[str, dict]) -> str:
    """The patterns of a trie as one regex without repeated prefixes: each position of the
    text tries a letter once per trie level, not once per rule. Every quantifier is
    possessive and the classes either side of it are disjoint, so nothing backtracks."""
    branches = []
    for token, child in sorted((t, c) for t, c in node.items() if t != _END):
        branches.append(_TOKEN_RE.get(token, re.escape(token)) + _trie_regex(child))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if _END in node:
        return "(?:" + body + ")?"
    return body


def compile_patterns(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for a set of patterns (folded text in, a match where any pattern stands as
    whole words); None for no patterns."""
    trie: dict[str, dict] = {}
    for pattern in patterns:
        node = trie
        for token in _tokens(pattern_words(pattern)):
            node = node.setdefault(token, {})
        node[_END] = {}
    if not trie:
        return None
    return re.compile(f"(?<!{_WORD})(?:{_trie_regex(trie)})(?!{_WORD})")


@dataclass(frozen=True, slots=True)
class ScopeMatcher:
    """One scope's rules, compiled: a regex per action."""

    block: re.Pattern[str] | None
    hold: re.Pattern[str] | None

    @classmethod
    def of(cls, rules: Iterable[WordFilterRule]) -> ScopeMatcher | None:
        rules = list(rules)
        if not rules:
            return None
        return cls(compile_patterns(r.pattern for r in rules if r.action == "block"),
                   compile_patterns(r.pattern for r in rules if r.action == "hold"))


@dataclass(frozen=True, slots=True)
class Verdict:
    action: FilterAction
    scope: FilterScope


@dataclass(frozen=True, slots=True)
class FilterSet:
    """Every scope's matcher. `check` costs two dictionary lookups when neither the server
    nor the room has a rule: the text is not even folded."""

    server: ScopeMatcher | None = None
    rooms: Mapping[int, ScopeMatcher] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: Iterable[WordFilterRule]) -> FilterSet:
        by_scope: dict[int | None, list[WordFilterRule]] = {}
        for rule in rules:
            by_scope.setdefault(rule.room_id, []).append(rule)
        rooms = {room_id: ScopeMatcher.of(scope_rules)
                 for room_id, scope_rules in by_scope.items() if room_id is not None}
        return cls(ScopeMatcher.of(by_scope.get(None, ())),
                   {room_id: m for room_id, m in rooms.items() if m is not None})

    def check(self, text: str, room_id: int | None = None) -> Verdict | None:
        """What the rules of the server (and of `room_id`, if given) say of `text`: a block
        (either scope's) wins over a hold; None when nothing matches."""
        room = self.rooms.get(room_id) if room_id is not None else None
        server = self.server
        if server is None and room is None:
            return None
        folded = fold(text)
        scoped = [(s, m) for s, m in (("server", server), ("room", room)) if m is not None]
        for action in FILTER_ACTIONS:
            for scope, matcher in scoped:
                regex = matcher.block if action == "block" else matcher.hold
                if regex is not None and regex.search(folded):
                    return Verdict(action, scope)  # type: ignore[arg-type]
        return None

    def refuse(self, text: str, room_id: int | None = None) -> None:
        """For a name (a room's, a display name): any match refuses it, a hold too."""
        verdict = self.check(text, room_id)
        if verdict is not None:
            raise ContentBlocked(verdict.scope)


EMPTY_FILTERS = FilterSet()
