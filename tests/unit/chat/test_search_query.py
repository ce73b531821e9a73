"""The search syntax (`domain/search.py`): words, phrases, prefixes, filters, what is refused,
and the highlights, accent- and case-insensitive, in Spanish and English."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.chat.adapters.outbound.sqla_search import fts5_match, tsquery
from services.chat.domain import Invalid
from services.chat.domain.search import Term, fold, highlights, parse, words


def test_words_phrases_and_prefixes_are_folded_terms() -> None:
    query = parse('Café "deploy FAILED" deplo* niño')
    assert query.terms == (Term(("cafe",)), Term(("deploy", "failed")),
                           Term(("deplo",), prefix=True), Term(("nino",)))
    assert not query.has_filters


def test_every_filter() -> None:
    query = parse("in:#General from:@Ana before:2026-03-01 after:2026-02-01 has:file "
                  "is:thread lunch")
    assert query.terms == (Term(("lunch",)),)
    assert (query.room, query.author) == ("General", "ana")
    assert query.before == datetime(2026, 3, 1, tzinfo=UTC)
    assert query.after == datetime(2026, 2, 2, tzinfo=UTC)  # after the day given
    assert query.has_file and query.is_thread
    assert query.filters == {"in", "from", "before", "after", "has", "is"}


def test_filters_alone_are_a_search_and_a_quoted_filter_is_words() -> None:
    assert parse("from:ana").author == "ana"
    assert parse('in:"team room"').room == "team room"
    quoted = parse('"in:general"')
    assert quoted.room is None and quoted.terms == (Term(("in", "general")),)
    # An unknown key is words: "error:timeout" searches both.
    assert parse("error:timeout").terms == (Term(("error", "timeout")),)


@pytest.mark.parametrize(("text", "says"), [
    ("", "Type a word"),
    ("   !!! ", "Type a word"),
    ('"unclosed', "never closed"),
    ("de*plo", "at the end of a word"),
    ("*", "at least 2 letters"),
    ("d*", "at least 2 letters"),
    ("before:yesterday", "YYYY-MM-DD"),
    ("after:2026-13-01", "YYYY-MM-DD"),
    ("has:image", "has:file"),
    ("is:pinned", "is:thread"),
    ("in:#", "room name"),
    ("from:@", "username"),
    ("in:#a in:#b", "given twice"),
    ("x" * 501, "at most 500"),
    (" ".join(f"w{i}" for i in range(17)), "at most 16"),
])
def test_what_is_refused_says_why(text: str, says: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse(text)
    assert refused.value.code == "invalid_query"
    assert says in str(refused.value)


def test_no_user_text_reaches_the_index_syntax() -> None:
    """FTS5 operators, quotes, column filters and NEAR are letters and digits or nothing;
    a piece with punctuation inside is a phrase of its words, as FTS5 reads a quoted one."""
    query = parse('NEAR(a b) content:x OR "x"" y" ^start -not (x) a+b')
    match = fts5_match(query.terms)
    assert match == ('"near a" AND "b" AND "content x" AND "or" AND "x y" AND '
                     '"start" AND "not" AND "x" AND "a b"')
    expr, values = tsquery(parse("o'brien & deplo*").terms)
    assert expr == ("(phraseto_tsquery('simple', :w0)) && "
                    "(to_tsquery('simple', quote_literal(:p1) || ':*'))")
    assert values == {"w0": "o brien", "p1": "deplo"}


def test_fold_and_words() -> None:
    assert fold("CAFÉ Ñandú Über") == "cafe nandu uber"
    assert list(words("¡Hola, señor!")) == [(1, 5, "hola"), (7, 12, "senor")]
    # Code points, not UTF-16 units: an emoji before the word counts as one.
    assert list(words("🎉 fiesta")) == [(2, 8, "fiesta")]


def test_highlights_in_spanish() -> None:
    text = "¿Vamos al café? El CAFÉ de la esquina abre a las 8. Cafetería no."
    spans = highlights(text, parse("cafe").terms)
    assert [text[a:b] for a, b in spans] == ["café", "CAFÉ"]
    spans = highlights(text, parse("caf*").terms)
    assert [text[a:b] for a, b in spans] == ["café", "CAFÉ", "Cafetería"]
    spans = highlights("El niño comió; los NIÑOS no.", parse("nino*").terms)
    assert spans == [[3, 7], [19, 24]]


def test_highlights_in_english_phrases_and_merging() -> None:
    text = "The deploy failed, then the deployment failed again. Deploy failed!"
    spans = highlights(text, parse('"deploy failed"').terms)
    assert [text[a:b] for a, b in spans] == ["deploy failed", "Deploy failed"]
    spans = highlights(text, parse("deploy* failed").terms)
    assert [text[a:b] for a, b in spans] == [  # words apart are apart
        "deploy", "failed", "deployment", "failed", "Deploy", "failed"]
    assert highlights("ab abc", parse("ab* abc").terms) == [[0, 2], [3, 6]]
    assert highlights(text, parse("in:#general").terms) == []
    assert highlights("", parse("x").terms) == []
