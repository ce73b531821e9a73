"""Reactions, pins and a message's editing history: what a valid reaction is, the bound per
message, how a page's reactions are summed up for one viewer, and who pins or reads the
history. No I/O. (The records themselves are `marks.py`'s.)"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.chat.domain.marks import (
    MessageMarks,
    Reaction,
    ReactionSummary,
)
from services.chat.domain.model import Actor, Conflict, Invalid, Member, Message, Room
from services.chat.domain.rules import can_post, is_moderator

REACTIONS_MAX_PER_MESSAGE = 20  # distinct emojis; CHAT_REACTIONS_MAX_PER_MESSAGE
# A reaction's summary names at most this many of the people behind it; `count` is exact.
REACTION_USERS_LISTED = 20
EMOJI_MAX_CODEPOINTS = 16  # a family with skin tones is 7-11; a subdivision flag 7
PINS_LISTED = 100
EDITS_LISTED = 200

_ZWJ, _VS15, _VS16, _KEYCAP, _CANCEL_TAG = 0x200D, 0xFE0E, 0xFE0F, 0x20E3, 0xE007F
# Emoji presentation and pictographic code points (Unicode's Extended_Pictographic, coarse:
# whole blocks of symbols, never letters, digits or punctuation of any script).
_PICTOGRAPHIC = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049),
    (0x2122, 0x2122), (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA),
    (0x231A, 0x231B), (0x2328, 0x2328), (0x23CF, 0x23CF), (0x23E9, 0x23F3),
    (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB), (0x25B6, 0x25B6),
    (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x27BF), (0x2934, 0x2935),
    (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
    (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299),
    (0x1F000, 0x1F1E5), (0x1F200, 0x1F3FA), (0x1F400, 0x1FAFF),
)
_KEYCAP_BASES = frozenset("0123456789#*")


def _in(cp: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def _element(cps: Sequence[int], i: int) -> int | None:
    """The end of one emoji element starting at `i` (a pictograph with its presentation
    selector, skin tone and tag sequence; a keycap; a flag), or None if none starts there."""
    cp = cps[i]
    if 0x1F1E6 <= cp <= 0x1F1FF:  # regional indicators come in pairs: one flag
        if i + 1 < len(cps) and 0x1F1E6 <= cps[i + 1] <= 0x1F1FF:
            return i + 2
        return None
    if chr(cp) in _KEYCAP_BASES:
        j = i + 1
        if j < len(cps) and cps[j] == _VS16:
            j += 1
        return j + 1 if j < len(cps) and cps[j] == _KEYCAP else None
    if not _in(cp, _PICTOGRAPHIC):
        return None
    j = i + 1
    if j < len(cps) and cps[j] in (_VS15, _VS16):
        j += 1
    if j < len(cps) and 0x1F3FB <= cps[j] <= 0x1F3FF:  # skin tone
        j += 1
    if j < len(cps) and 0xE0020 <= cps[j] <= 0xE007E:  # tags: a subdivision flag
        while j < len(cps) and 0xE0020 <= cps[j] <= 0xE007E:
            j += 1
        if j >= len(cps) or cps[j] != _CANCEL_TAG:
            return None
        j += 1
    return j


def validate_emoji(emoji: str) -> str:
    """One emoji as one grapheme: a pictograph (with its presentation selector and skin
    tone), a keycap, a flag, or a ZWJ sequence of them; at most `EMOJI_MAX_CODEPOINTS` code
    points. Words, `:shortcodes:`, spaces, control characters and two emojis are refused."""
    cps = [ord(c) for c in emoji]
    if not cps or len(cps) > EMOJI_MAX_CODEPOINTS:
        raise Invalid("invalid_emoji", "A reaction is one emoji.")
    i = 0
    while True:
        end = _element(cps, i)
        if end is None:
            raise Invalid("invalid_emoji", "A reaction is one emoji.")
        if end == len(cps):
            return emoji
        if cps[end] != _ZWJ or end + 1 == len(cps):
            raise Invalid("invalid_emoji", "A reaction is one emoji.")
        i = end + 1


def summarise(reactions: Iterable[Reaction], viewer_id: int | None) -> list[ReactionSummary]:
    """One entry per emoji, the emoji first used first; ties by the emoji itself."""
    by_emoji: dict[str, list[Reaction]] = {}
    for reaction in sorted(reactions, key=lambda r: (r.created_at, r.emoji, r.user_id)):
        by_emoji.setdefault(reaction.emoji, []).append(reaction)
    return [ReactionSummary(
        emoji, len(group), viewer_id is not None and any(r.user_id == viewer_id for r in group),
        tuple((r.user_id, r.username) for r in group[:REACTION_USERS_LISTED]))
        for emoji, group in by_emoji.items()]


def annotate(messages: Iterable[Message], marks: MessageMarks, viewer_id: int | None) -> None:
    """Give each message its reactions for `viewer_id` and its pin. A deleted message has
    neither: its reactions stay stored, unseen."""
    for message in messages:
        if message.is_deleted:
            message.reactions, message.pin = [], None
            continue
        message.reactions = summarise(marks.reactions.get(message.id, ()), viewer_id)
        message.pin = marks.pins.get(message.id)


def check_new_emoji(distinct_emojis: int, max_per_message: int) -> None:
    """A message holds at most `max_per_message` distinct emojis; more of one is fine."""
    if distinct_emojis >= max_per_message:
        raise Conflict("too_many_reactions",
                       f"A message has at most {max_per_message} different reactions.")


def can_react(room: Room, actor: Actor, member: Member | None) -> bool:
    """Whoever may post in the room may react (in a public room, any signed-in user)."""
    return can_post(room, actor, member)


def can_pin(actor: Actor, member: Member | None) -> bool:
    return is_moderator(actor, member)


def can_read_edits(actor: Actor, member: Member | None) -> bool:
    """Room moderators and admins, and server admins; not authors, who would see what a
    moderator removed from their message."""
    return is_moderator(actor, member)
