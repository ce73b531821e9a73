"""Client → server frames (PROTOCOL.md), validated strictly: `"1"` is not a room id, and ids
and seqs are bounded like the database's integers (`shared.contracts.bounds`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.bounds import AttachmentIds, Id, Seq


class _In(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class AuthIn(_In):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)


class JoinIn(_In):
    type: Literal["join"]
    room_id: Id
    since_seq: Seq | None = None


class LeaveIn(_In):
    type: Literal["leave"]
    room_id: Id


class ChatMessageIn(_In):
    type: Literal["chat_message"]
    room_id: Id | None = None
    content: str
    client_msg_id: str | None = None
    thread_root_id: Id | None = None  # a reply in this message's thread
    also_send_to_room: bool = False
    attachment_ids: AttachmentIds = []  # uploaded files (POST /api/chat/files)


class EditMessageIn(_In):
    type: Literal["edit_message"]
    message_id: Id
    content: str


class DeleteMessageIn(_In):
    type: Literal["delete_message"]
    message_id: Id


class TypingIn(_In):
    type: Literal["typing"]
    room_id: Id | None = None
    is_typing: bool = True


class ReadIn(_In):
    type: Literal["read"]
    room_id: Id
    seq: Seq


class SetStatusIn(_In):
    type: Literal["set_status"]
    status: Literal["online", "away", "busy"]


class ViewIn(_In):
    """The joined room this tab shows (None: no room) and whether the tab is visible."""

    type: Literal["view"]
    room_id: int | None = Field(ge=1, le=2**63 - 1)
    visible: bool


class PingIn(_In):
    type: Literal["ping"]


CLIENT_FRAMES: dict[str, type[_In]] = {
    "auth": AuthIn,
    "join": JoinIn,
    "leave": LeaveIn,
    "chat_message": ChatMessageIn,
    "edit_message": EditMessageIn,
    "delete_message": DeleteMessageIn,
    "typing": TypingIn,
    "read": ReadIn,
    "set_status": SetStatusIn,
    "view": ViewIn,
    "ping": PingIn,
}
