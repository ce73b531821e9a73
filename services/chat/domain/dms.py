"""Direct messages: who a DM is between, the key that makes one set of people one
conversation, and what a DM refuses that a room allows. No I/O.

A DM is a private room (`Room.kind == "dm"`, `is_private` true) of 2 to `DM_MAX_MEMBERS`
people, the opener included. Its members are fixed when it opens: nobody is invited into or
removed from it, nobody leaves it (the page simply does not show it open), and it is never
renamed or made public. Everyone in it has the role `member`: a DM has no room admins."""

from __future__ import annotations

from collections.abc import Iterable

from services.chat.domain.model import Conflict, Invalid, Room

DM_MAX_MEMBERS = 8
# A DM's stored name: the name column is unique and every room needs one, but a DM is
# named on the page by its people. Room names starting with this are refused
# (`validate_room_name`), so no room can take a DM's name first.
DM_NAME_PREFIX = "dm:"


def dm_people(opener: int, others: Iterable[int]) -> list[int]:
    """Everyone in the DM, in id order: the opener and the others (repeats ignored).
    The opener alone is refused, and so are more than `DM_MAX_MEMBERS` people."""
    people = {opener, *others}
    if len(people) < 2:
        raise Invalid("dm_with_self",
                      "A direct message needs at least one other person.")
    if len(people) > DM_MAX_MEMBERS:
        raise Invalid("dm_too_many_members",
                      f"A direct message has at most {DM_MAX_MEMBERS} people, you included.")
    return sorted(people)


def dm_key(people: Iterable[int]) -> str:
    """The same set of people, in any order, gives the same key: its ids sorted, "3,7,12"."""
    return ",".join(str(user_id) for user_id in sorted(set(people)))


def dm_name(key: str) -> str:
    return f"{DM_NAME_PREFIX}{key}"


def is_dm(room: Room) -> bool:
    return room.kind == "dm"


_REFUSALS = {
    "update": ("dm_not_editable", "A direct message cannot be renamed or made public."),
    "invite": ("dm_members_fixed", "A direct message's people are fixed: open another one "
                                   "with everyone you want in it."),
    "kick": ("dm_members_fixed", "Nobody is removed from a direct message."),
    "role": ("dm_members_fixed", "A direct message has no roles to change."),
    "leave": ("dm_cannot_leave", "A direct message cannot be left; close it on the page."),
}


def refuse_in_dm(room: Room, action: str) -> None:
    """What a room allows and a DM does not: `update`, `invite`, `kick`, `role`, `leave`
    (409, stable codes: `dm_not_editable`, `dm_members_fixed`, `dm_cannot_leave`)."""
    if is_dm(room):
        code, message = _REFUSALS[action]
        raise Conflict(code, message)
