"""Chat use cases: one async function per thing a user or operator does, one module per
capability (accounts, sessions, administration, rooms, dms, membership, messages, recovery,
reads, presence; `_access` holds the checks they share). Callers use the package
(`use_cases.post_message`): which module a use case lives in is this package's business."""

from services.chat.use_cases.accounts import (
    authenticate,
    change_password,
    current_user,
    delete_account,
    register,
)
from services.chat.use_cases.administration import (
    deactivate_user,
    ensure_admin,
    reactivate_user,
    set_password,
)
from services.chat.use_cases.audit import AuditPage, audit_log, record_recorded
from services.chat.use_cases.avatars import avatar_file, avatar_ids, remove_avatar, set_avatar
from services.chat.use_cases.bots import (
    IssuedToken,
    bot_actor,
    create_bot,
    create_token,
    deactivate_bot,
    list_bots,
    list_tokens,
    revoke_token,
)
from services.chat.use_cases.dms import OpenedDm, dm_members, find_people, open_dm
from services.chat.use_cases.export import authorize_export, export_records
from services.chat.use_cases.file_access import Download, download, readable_file
from services.chat.use_cases.file_sweep import sweep_files, sweep_files_every
from services.chat.use_cases.held import Held, approve_held, held_data, list_held, reject_held
from services.chat.use_cases.hooks import (
    CreatedHook,
    HookSender,
    create_hook,
    delete_hook,
    hook_sender,
    list_hooks,
)
from services.chat.use_cases.importing import ImportReport, check_stream, import_stream
from services.chat.use_cases.invitations import (
    create_invitation,
    list_invitations,
    revoke_invitation,
)
from services.chat.use_cases.membership import (
    change_role,
    invite_member,
    join_room,
    kick_member,
    leave_room,
    list_members,
    member_ids,
)
from services.chat.use_cases.messages import (
    HISTORY_MAX_PAGE,
    HistoryPage,
    Posted,
    ThreadPage,
    delete_message,
    edit_message,
    history,
    history_around,
    post_message,
    thread,
)
from services.chat.use_cases.presence import present_members, rooms_of_user, typing_frame
from services.chat.use_cases.profile import update_profile, user_profile
from services.chat.use_cases.reactions import (
    Reactions,
    add_reaction,
    list_pins,
    message_edits,
    pin_message,
    remove_reaction,
    unpin_message,
)
from services.chat.use_cases.reads import mark_read, unread_counts
from services.chat.use_cases.recovery import Recovery, messages_between, recover
from services.chat.use_cases.room_admin import (
    RoomsPage,
    archive_room,
    search_rooms,
    set_room_owner,
    set_room_visibility,
)
from services.chat.use_cases.rooms import create_room, get_room, list_rooms, update_room
from services.chat.use_cases.search import SearchHit, SearchPage, search_messages
from services.chat.use_cases.server_settings import (
    current_settings,
    read_settings,
    update_settings,
)
from services.chat.use_cases.sessions import end_session, open_session
from services.chat.use_cases.uploads import Inspected, inspect_upload, store_upload
from services.chat.use_cases.user_admin import (
    UsersPage,
    reset_sessions,
    search_users,
    set_server_admin,
)
from services.chat.use_cases.word_filters import (
    add_word_filter,
    list_word_filters,
    remove_word_filter,
)

__all__ = [
    "HISTORY_MAX_PAGE",
    "AuditPage",
    "CreatedHook",
    "Download",
    "Held",
    "HistoryPage",
    "HookSender",
    "ImportReport",
    "Inspected",
    "IssuedToken",
    "OpenedDm",
    "Posted",
    "Reactions",
    "Recovery",
    "RoomsPage",
    "SearchHit",
    "SearchPage",
    "ThreadPage",
    "UsersPage",
    "add_reaction",
    "add_word_filter",
    "approve_held",
    "archive_room",
    "audit_log",
    "authenticate",
    "authorize_export",
    "avatar_file",
    "avatar_ids",
    "bot_actor",
    "change_password",
    "change_role",
    "check_stream",
    "create_bot",
    "create_hook",
    "create_invitation",
    "create_room",
    "create_token",
    "current_settings",
    "current_user",
    "deactivate_bot",
    "deactivate_user",
    "delete_account",
    "delete_hook",
    "delete_message",
    "dm_members",
    "download",
    "edit_message",
    "end_session",
    "ensure_admin",
    "export_records",
    "find_people",
    "get_room",
    "held_data",
    "history",
    "history_around",
    "hook_sender",
    "import_stream",
    "inspect_upload",
    "invite_member",
    "join_room",
    "kick_member",
    "leave_room",
    "list_bots",
    "list_held",
    "list_hooks",
    "list_invitations",
    "list_members",
    "list_pins",
    "list_rooms",
    "list_tokens",
    "list_word_filters",
    "mark_read",
    "member_ids",
    "message_edits",
    "messages_between",
    "open_dm",
    "open_session",
    "pin_message",
    "post_message",
    "present_members",
    "reactivate_user",
    "read_settings",
    "readable_file",
    "record_recorded",
    "recover",
    "register",
    "reject_held",
    "remove_avatar",
    "remove_reaction",
    "remove_word_filter",
    "reset_sessions",
    "revoke_invitation",
    "revoke_token",
    "rooms_of_user",
    "search_messages",
    "search_rooms",
    "search_users",
    "set_avatar",
    "set_password",
    "set_room_owner",
    "set_room_visibility",
    "set_server_admin",
    "store_upload",
    "sweep_files",
    "sweep_files_every",
    "thread",
    "typing_frame",
    "unpin_message",
    "unread_counts",
    "update_profile",
    "update_room",
    "update_settings",
    "user_profile",
]
