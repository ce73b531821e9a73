"""The chat service's HTTP routes, one router per capability: `/api/auth` (`auth`),
`/api/chat` rooms, members and messages (`rooms`), reactions, pins and editing history
(`reactions`), direct messages and the people to start one with (`dms`), `/api/admin`
(`admin`, `admin_console`) and the JWKS (`jwks`), `/api/chat/users/{id}` profiles (`people`),
uploads and downloads of files (`files`, streamed by `upload_spool`), `/api/search`
(`search`), bot accounts and tokens (`bots`), incoming webhooks (`hooks`), exports
(`export`); `_deps` holds the dependencies they share. `app.py` includes the routers."""

from services.chat.adapters.inbound.http.admin import admin_router
from services.chat.adapters.inbound.http.admin_console import admin_console_router
from services.chat.adapters.inbound.http.auth import auth_router
from services.chat.adapters.inbound.http.bots import bots_router
from services.chat.adapters.inbound.http.dms import dms_router
from services.chat.adapters.inbound.http.export import export_router
from services.chat.adapters.inbound.http.files import FILES_PATH, files_router
from services.chat.adapters.inbound.http.hooks import hooks_router
from services.chat.adapters.inbound.http.jwks import jwks_router
from services.chat.adapters.inbound.http.people import people_router
from services.chat.adapters.inbound.http.reactions import reactions_router
from services.chat.adapters.inbound.http.rooms import chat_router
from services.chat.adapters.inbound.http.search import search_router

__all__ = ["FILES_PATH", "admin_console_router", "admin_router", "auth_router", "bots_router",
           "chat_router", "dms_router", "export_router", "files_router", "hooks_router",
           "jwks_router", "people_router", "reactions_router", "search_router"]
