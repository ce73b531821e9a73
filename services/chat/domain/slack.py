"""A Slack workspace export as Tertulia's export format (docs/operations.md, Importing from
Slack): Slack's users become accounts (without a password), its channels rooms (private from
`is_private`, or listed in groups.json), its messages those rooms' messages in `ts` order
(seq 1, 2, ...), replies (`thread_ts` other than their `ts`) thread replies, reactions
reactions (`EMOJI` maps the common names; any other is kept as `:name:`), `pinned_to` pins.
Files are named in the message's text (a Slack export holds no file bytes). Direct
messages (dms.json, mpims.json) are left out. No I/O: the reader hands the JSON over."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.chat.domain.export_format import FORMAT, VERSION
from services.chat.domain.model import ROOM_DESCRIPTION_MAX_CHARS, ROOM_NAME_MAX_CHARS

USERNAME_MAX = 32
DISPLAY_NAME_MAX = 100
UNKNOWN_AUTHOR = "slack"
# Slack's names for the reactions people use most; the rest stay `:name:`.
EMOJI = {
    "+1": "👍", "thumbsup": "👍", "-1": "👎", "thumbsdown": "👎", "heart": "❤️",
    "smile": "😄", "slightly_smiling_face": "🙂", "grinning": "😀", "joy": "😂",
    "laughing": "😆", "satisfied": "😆", "wink": "😉", "tada": "🎉", "eyes": "👀",
    "white_check_mark": "✅", "heavy_check_mark": "✔️", "x": "❌", "pray": "🙏",
    "fire": "🔥", "rocket": "🚀", "100": "💯", "thinking_face": "🤔", "clap": "👏",
    "wave": "👋", "ok_hand": "👌", "raised_hands": "🙌", "muscle": "💪", "star": "⭐",
    "sob": "😭", "cry": "😢", "sweat_smile": "😅", "heart_eyes": "😍", "sunglasses": "😎",
    "confused": "😕", "warning": "⚠️", "bulb": "💡", "coffee": "☕", "point_up": "☝️",
}
# Message subtypes that say something happened rather than what someone said.
SYSTEM_SUBTYPES = frozenset({"channel_join", "channel_leave", "channel_topic",
                             "channel_purpose", "channel_name", "channel_archive",
                             "channel_unarchive", "group_join", "group_leave"})
_TOKEN = re.compile(r"<([^<>]*)>")
_BAD_USERNAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


def emoji_of(name: str) -> str:
    """A Slack reaction name as Tertulia's emoji (a skin tone is dropped: `+1::skin-tone-2`)."""
    base = name.split("::", 1)[0]
    return EMOJI.get(base, f":{base}:")


def username_of(name: str, taken: set[str]) -> str:
    """A valid, unused Tertulia username (3-32 characters of letters, digits, `_.-`, not
    starting or ending with `.` or `-`) made from a Slack handle; `taken` is lower-cased."""
    base = _BAD_USERNAME_CHARS.sub("_", name)[:USERNAME_MAX] or "user"
    base = ("_" + base[1:]) if base[0] in ".-" else base
    base = (base[:-1] + "_") if base[-1] in ".-" else base
    base = base.ljust(3, "_")
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f"_{n}"
        candidate = base[:USERNAME_MAX - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def time_of(ts: str | float) -> datetime:
    return datetime.fromtimestamp(float(ts), UTC)


@dataclass(slots=True)
class SlackWorkspace:
    """What the reader found: users.json, the channels (with `private`), and each channel's
    messages (the day files, oldest first), as a function so it can be read more than once."""

    users: list[dict[str, Any]]
    channels: list[tuple[dict[str, Any], bool]]
    messages_of: Callable[[dict[str, Any]], Iterable[dict[str, Any]]]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def _is_message(m: Any) -> bool:
    return isinstance(m, dict) and m.get("type", "message") == "message" and "ts" in m


class SlackMapping:
    """Slack's records as Tertulia's, in the export format's order. Ids are handed out in
    one deterministic walk (channels in order, messages by `ts`), so each pass over the
    messages finds the same ids without holding them all."""

    def __init__(self, workspace: SlackWorkspace) -> None:
        self.ws = workspace
        self.user_ids: dict[str, int] = {}
        self.usernames: dict[str, str] = {}
        self.room_ids: dict[str, int] = {}
        self.room_names: dict[str, str] = {}

    def records(self) -> Iterator[dict[str, Any]]:
        counts: dict[str, int] = {}

        def counted(kind_records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for record in kind_records:
                counts[record["type"]] = counts.get(record["type"], 0) + 1
                yield record

        yield {"type": "header", "format": FORMAT, "version": VERSION, "scope": "server",
               "exported_at": self.ws.now.isoformat(), "files": False, "source": "slack"}
        yield from counted(self._users())
        yield from counted(self._rooms())
        yield from counted(self._messages())
        yield from counted(self._marks())
        yield {"type": "end", "counts": counts}

    # --- people ---------------------------------------------------------------------------

    def _users(self) -> Iterator[dict[str, Any]]:
        taken: set[str] = set()
        for n, u in enumerate(self.ws.users, start=1):
            profile = u.get("profile") or {}
            name = username_of(str(u.get("name") or u.get("id") or f"user{n}"), taken)
            self.user_ids[str(u.get("id"))] = n
            self.usernames[str(u.get("id"))] = name
            display = (profile.get("display_name") or profile.get("real_name")
                       or u.get("real_name") or None)
            yield {"type": "user", "id": n, "username": name,
                   "display_name": display[:DISPLAY_NAME_MAX] if display else None,
                   "is_bot": bool(u.get("is_bot")),
                   "is_admin": bool(u.get("is_admin") or u.get("is_owner")),
                   "created_at": (time_of(u["updated"]) if u.get("updated")
                                  else self.ws.now).isoformat(),
                   "deactivated_at": self.ws.now.isoformat() if u.get("deleted") else None,
                   "status_text": (profile.get("status_text") or None) and
                   str(profile["status_text"])[:100],
                   "time_zone": u.get("tz") or None}

    # --- rooms and members ----------------------------------------------------------------

    def _rooms(self) -> Iterator[dict[str, Any]]:
        members: list[dict[str, Any]] = []
        taken: set[str] = set()
        for n, (channel, private) in enumerate(self.ws.channels, start=1):
            key = str(channel.get("id") or channel.get("name"))
            name = self._room_name(str(channel.get("name") or f"channel-{n}"), taken)
            self.room_ids[key], self.room_names[key] = n, name
            last_seq = sum(1 for m in self.ws.messages_of(channel) if _is_message(m))
            created = time_of(channel.get("created") or self.ws.now.timestamp())
            about = ((channel.get("purpose") or {}).get("value")
                     or (channel.get("topic") or {}).get("value") or None)
            creator = self.user_ids.get(str(channel.get("creator")))
            yield {"type": "room", "id": n, "name": name,
                   "description": about[:ROOM_DESCRIPTION_MAX_CHARS] if about else None,
                   "is_private": private, "kind": "room", "dm_key": None,
                   "created_at": created.isoformat(), "created_by": creator,
                   "last_seq": last_seq}
            # Members after every room: the format's order. (One channel's list at a time.)
            people = [self.user_ids[s] for s in dict.fromkeys(
                map(str, channel.get("members") or [])) if s in self.user_ids]
            if creator is not None and creator not in people:
                people.insert(0, creator)
            members += [{"type": "member", "room_id": n, "user_id": uid,
                         "role": "admin" if uid == creator else "member",
                         "joined_at": created.isoformat(), "last_seen": created.isoformat(),
                         "read_seq": last_seq} for uid in people]
        yield from members

    @staticmethod
    def _room_name(name: str, taken: set[str]) -> str:
        base, candidate, n = name[:ROOM_NAME_MAX_CHARS], name[:ROOM_NAME_MAX_CHARS], 1
        while candidate in taken:
            n += 1
            candidate = f"{base[:ROOM_NAME_MAX_CHARS - 4]}-{n}"
        taken.add(candidate)
        return candidate

    # --- messages -------------------------------------------------------------------------

    def _walk(self) -> Iterator[tuple[dict[str, Any], int, int, int, dict[str, Any],
                                      dict[str, int]]]:
        """(channel, room id, seq, message id, the Slack message, the channel's roots so
        far: ts -> message id)."""
        message_id = 0
        for channel, _private in self.ws.channels:
            room_id = self.room_ids[str(channel.get("id") or channel.get("name"))]
            roots: dict[str, int] = {}
            seq = 0
            for m in self.ws.messages_of(channel):
                if not _is_message(m):
                    continue
                seq += 1
                message_id += 1
                if m.get("thread_ts") in (None, m["ts"]):
                    roots[str(m["ts"])] = message_id
                yield channel, room_id, seq, message_id, m, roots

    def _messages(self) -> Iterator[dict[str, Any]]:
        # A root comes before its replies, with their count: each channel is read once more
        # for its threads' counts (kept by root ts, for that channel only).
        current: int | None = None
        threads: dict[str, tuple[int, str]] = {}
        for channel, room_id, seq, mid, m, roots in self._walk():
            if room_id != current:
                current, threads = room_id, self._threads_of(channel)
            yield self._message(room_id, seq, mid, m, roots, threads)

    def _threads_of(self, channel: dict[str, Any]) -> dict[str, tuple[int, str]]:
        """Root ts -> (replies, the last reply's ts)."""
        threads: dict[str, tuple[int, str]] = {}
        for m in self.ws.messages_of(channel):
            root_ts = m.get("thread_ts") if _is_message(m) else None
            if root_ts is not None and root_ts != m["ts"]:
                count, _last = threads.get(str(root_ts), (0, ""))
                threads[str(root_ts)] = (count + 1, str(m["ts"]))
        return threads

    def _message(self, room_id: int, seq: int, mid: int, m: dict[str, Any],
                 roots: dict[str, int], threads: dict[str, tuple[int, str]]
                 ) -> dict[str, Any]:
        author = self.user_ids.get(str(m.get("user")))
        content, mentioned = self._text(m)
        root_ts = m.get("thread_ts")
        root = roots.get(str(root_ts)) if root_ts not in (None, m["ts"]) else None
        count, last = threads.get(str(m["ts"]), (0, None)) if root is None else (0, None)
        edited = (m.get("edited") or {}).get("ts")
        return {
            "type": "message", "id": mid, "room_id": room_id, "seq": seq,
            "user_id": author,
            "username": (self.usernames.get(str(m.get("user"))) or
                         str(m.get("username") or UNKNOWN_AUTHOR))[:USERNAME_MAX],
            "content": content,
            "message_type": "system" if m.get("subtype") in SYSTEM_SUBTYPES else "text",
            "client_msg_id": None, "created_at": time_of(m["ts"]).isoformat(),
            "edited_at": time_of(edited).isoformat() if edited else None,
            "is_deleted": m.get("subtype") == "tombstone",
            "thread_root_id": root,
            "also_send_to_room": root is not None and m.get("subtype") == "thread_broadcast",
            "reply_count": count,
            "last_reply_at": time_of(last).isoformat() if last else None,
            "mentions": [uid for uid in mentioned if uid != author],
        }

    def _text(self, m: dict[str, Any]) -> tuple[str, list[int]]:
        """Slack's mrkdwn markup as plain text: `<@U1>` as `@name` (a mention), `<#C1|x>`
        as `#x`, `<!here>` and its kind as `@room`, `<url|label>` as `label (url)`; file
        names on lines of their own."""
        mentioned: list[int] = []

        def token(match: re.Match[str]) -> str:
            inner = match.group(1)
            target, _, label = inner.partition("|")
            if target.startswith("@"):
                slack_id = target[1:]
                if slack_id in self.user_ids:
                    mentioned.append(self.user_ids[slack_id])
                    return "@" + self.usernames[slack_id]
                return "@" + (label or slack_id)
            if target.startswith("#"):
                return "#" + (label or self.room_names.get(target[1:], target[1:]))
            if target.startswith("!"):
                if target[1:] in ("here", "channel", "everyone"):
                    return "@room"
                return label or target[1:]
            return f"{label} ({target})" if label and label != target else target

        text = html.unescape(_TOKEN.sub(token, str(m.get("text") or "")))
        names = [str(f.get("name") or f.get("title") or "file") for f in m.get("files") or []
                 if isinstance(f, dict)]
        if names:
            text = "\n".join([text, *(f"📎 {name}" for name in names)]).strip()
        return text, list(dict.fromkeys(mentioned))

    # --- reactions and pins ---------------------------------------------------------------

    def _marks(self) -> Iterator[dict[str, Any]]:
        pins: list[dict[str, Any]] = []
        for _channel, room_id, _seq, mid, m, _roots in self._walk():
            at = time_of(m["ts"]).isoformat()
            seen: set[tuple[int, str]] = set()
            for reaction in m.get("reactions") or []:
                emoji = emoji_of(str(reaction.get("name") or ""))
                for slack_user in reaction.get("users") or []:
                    uid = self.user_ids.get(str(slack_user))
                    if uid is None or (uid, emoji) in seen:
                        continue
                    seen.add((uid, emoji))
                    yield {"type": "reaction", "message_id": mid, "room_id": room_id,
                           "user_id": uid, "emoji": emoji, "created_at": at}
            if m.get("pinned_to"):
                pins.append({"type": "pin", "message_id": mid, "room_id": room_id,
                             "pinned_by": self.user_ids.get(str(m.get("user"))),
                             "pinned_at": at})
        yield from pins
