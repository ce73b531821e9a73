"""The word filter's matcher: whole words, case and accents ignored, `*` suffix wildcards,
phrases, punctuation, unicode, and input built to make a regex backtrack."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from services.chat.domain import Invalid
from services.chat.domain.word_filter import (
    PATTERN_MAX_CHARS,
    ContentBlocked,
    FilterSet,
    WordFilterRule,
    compile_patterns,
    fold,
    pattern_key,
    pattern_words,
    validate_rule,
)

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def rule(pattern: str, action: str = "block", room_id: int | None = None,
         rule_id: int = 1) -> WordFilterRule:
    return WordFilterRule(rule_id, room_id, pattern, action, 1, NOW)  # type: ignore[arg-type]


def matches(pattern: str, text: str) -> bool:
    regex = compile_patterns([pattern])
    assert regex is not None
    return regex.search(fold(text)) is not None


@pytest.mark.parametrize(("pattern", "text"), [
    ("spam", "spam"),
    ("spam", "SPAM!"),
    ("spam", "this is Spam, really"),
    ("spam", "(spam)"),
    ("spam", "spam_bot"),            # `_` separates words
    ("café", "I like cafe"),         # accents ignored, both ways
    ("cafe", "un CAFÉ por favor"),
    ("cafe", "cafe\u0301 doble"),    # a combining accent
    ("straße", "STRASSE"),           # case folding, not just lower()
    ("ﬁne", "fine print"),           # compatibility forms (NFKD)
    ("\uff53\uff50\uff41\uff4d", "spam"),  # full-width letters
    ("naïve", "NAIVE"),
    ("bad word", "a bad   word here"),
    ("bad word", "bad-word"),
    ("bad-word", "bad word"),
    ("bad word", "bad,\nword"),
    ("spam*", "spammers"),
    ("spam*", "spam"),
    ("spam* bot", "spammy bot"),
    ("ñu", "Ñu!"),
    ("\u043c\u0430\u0442", "\u044d\u0442\u043e \u041c\u0410\u0422."),  # Cyrillic
    ("42", "the answer is 42"),
])
def test_it_matches_whole_words_whatever_the_case_accents_or_punctuation(
        pattern: str, text: str) -> None:
    assert matches(pattern, text)


@pytest.mark.parametrize(("pattern", "text"), [
    ("spam", "spammer"),             # not a prefix without `*`
    ("spam", "antispam"),
    ("spam", "s p a m"),
    ("cafe", "cafeteria"),
    ("bad word", "bad wordy"),
    ("bad word", "badword"),
    ("spam*", "antispam"),           # a suffix wildcard, not a prefix one
    ("ass", "class assignment"),     # the Scunthorpe problem: whole words only
    ("42", "4242"),
    ("a.b", "axb"),                  # punctuation in a pattern is a word break, not regex
    ("x{2}", "xx"),
])
def test_it_does_not_match_inside_words_or_across_them(pattern: str, text: str) -> None:
    assert not matches(pattern, text)


def test_regex_metacharacters_in_patterns_are_literal_or_refused() -> None:
    assert matches("x{2}", "x 2") and matches("(spam)+", "spam") and matches("a.b", "a b")
    for pattern in ("[]", "|", "^$", "?", "\\", ".*", "(+)"):
        with pytest.raises(Invalid) as err:
            pattern_words(pattern)
        assert err.value.code == "invalid_word_filter"


@pytest.mark.parametrize("pattern", [
    "", "   ", "*", "s*", "sp*am", "**", "..", "x" * (PATTERN_MAX_CHARS + 1),
    "one two three four five six seven",
])
def test_bad_patterns_are_refused_with_a_code(pattern: str) -> None:
    with pytest.raises(Invalid) as err:
        validate_rule(pattern, "block")
    assert err.value.code == "invalid_word_filter"


def test_the_action_is_block_or_hold() -> None:
    assert validate_rule("  spam ", "hold") == ("spam", "hold")
    with pytest.raises(Invalid) as err:
        validate_rule("spam", "delete")
    assert err.value.code == "invalid_word_filter_action"


def test_patterns_that_fold_alike_are_the_same_rule() -> None:
    assert pattern_key("Café  Latte") == pattern_key("cafe-latte") == "cafe latte"
    assert pattern_key("spam*") != pattern_key("spam")


def test_many_rules_share_one_regex_and_each_still_matches() -> None:
    words = [f"word{i}" for i in range(200)] + ["word", "wor*", "word two", "spam", "spa"]
    regex = compile_patterns(words)
    assert regex is not None
    for text in ("word17", "word199", "word", "worried", "word two", "spa", "spam"):
        assert regex.search(fold(text)), text
    for text in ("wxrd17", "wo", "sp", "spams"):
        assert not regex.search(fold(text)), text


def test_pathological_input_takes_linear_time() -> None:
    """Patterns and text built to make a backtracking matcher explode: a long run of word
    characters with the wildcard phrase's separator never coming, separators that never
    lead to a word, every rule sharing a prefix."""
    rules = [f"{'a' * 30}{i}*" for i in range(100)] + ["aa* aa* aa* aa* aa* b"]
    regex = compile_patterns(rules)
    assert regex is not None
    texts = ["a" * 4000, ("aa " * 1333) + "c", "a" + "-" * 3999, ("aa_" * 1333)]
    started = time.perf_counter()
    for text in texts:
        assert regex.search(fold(text)) is None
    # Generous for a slow shared machine; exponential backtracking would take years.
    assert time.perf_counter() - started < 2.0


def test_a_block_wins_over_a_hold_and_the_scope_is_named() -> None:
    filters = FilterSet.of([rule("spam", "hold", rule_id=1),
                            rule("scam", "block", room_id=7, rule_id=2),
                            rule("eggs", "hold", room_id=7, rule_id=3)])
    blocked = filters.check("spam and scam", 7)
    assert blocked is not None and (blocked.action, blocked.scope) == ("block", "room")
    verdict = filters.check("spam", 7)
    assert verdict is not None and (verdict.action, verdict.scope) == ("hold", "server")
    assert filters.check("eggs", 7).scope == "room"  # type: ignore[union-attr]
    assert filters.check("eggs", 8) is None  # another room's rule
    assert filters.check("scam", None) is None  # the server's rules only
    with pytest.raises(ContentBlocked) as err:
        filters.refuse("spam")  # a name: hold is a block
    assert (err.value.code, err.value.scope, err.value.status) == ("content_blocked",
                                                                   "server", 422)
    assert "spam" not in err.value.message  # whose rule, never which word


def test_no_rules_cost_no_folding() -> None:
    filters = FilterSet.of([rule("spam", room_id=3)])
    assert filters.server is None and set(filters.rooms) == {3}

    class Exploding(str):
        def __getattribute__(self, name: str) -> object:
            raise AssertionError("the text was looked at")

    assert filters.check(Exploding("spam"), 4) is None  # nothing to do for room 4
    assert FilterSet().check(Exploding("spam"), 3) is None
