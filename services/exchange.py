"""`tertulia export` and `tertulia import`: the chat service's data in the export format
(docs/protocol.md, Export format), read from or written into its database directly, with
the service's own settings (`--data-dir` as for `tertulia up`). The work is the chat
service's: its exporter (`SqlaExportSource`, the same the HTTP endpoints stream), its
import (`use_cases/importing.py`), its Slack reader. docs/operations.md, Export and import,
is the operator's side."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from services.backup.sources import service_settings


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = commands.add_parser(
        "export", help="write the chat data (the whole server, a room or a person's) in "
                       "Tertulia's export format: NDJSON, or a tar archive with --files")
    which = export.add_mutually_exclusive_group()
    which.add_argument("--room", type=int, default=None, metavar="ID",
                       help="one room (default: the whole server)")
    which.add_argument("--user", type=int, default=None, metavar="ID",
                       help="one person's own data (a data-protection request)")
    export.add_argument("--files", action="store_true",
                        help="a tar archive: data.ndjson and every file's bytes")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="PATH",
                        help="the file to write (must not exist)")
    export.add_argument("--data-dir", type=Path, default=None,
                        help="the data directory `tertulia up --data-dir` was given "
                             "(default: $CHAT_DATA_DIR or $DATA_DIR, else ./data)")

    into = commands.add_parser(
        "import", help="import an export (NDJSON or its tar archive), or with --slack a "
                       "Slack export (.zip), into an EMPTY chat database")
    into.add_argument("path", type=Path, help="the export file")
    into.add_argument("--slack", action="store_true",
                      help="the file is a Slack workspace export (.zip)")
    into.add_argument("--data-dir", type=Path, default=None,
                      help="the data directory to import into (default: $CHAT_DATA_DIR or "
                           "$DATA_DIR, else ./data)")

    # Imported accounts have no password: this gives them one (`cli.create_admin` runs it).
    password = commands.add_parser(
        "set-password", help="give an existing account a password (an imported one has "
                             "none); its sessions are revoked")
    password.add_argument("--username", required=True)
    password.add_argument("--password", default=None,
                          help="default: $TERTULIA_ADMIN_PASSWORD, else prompt")
    password.add_argument("--data-dir", type=Path, default=None, help="as for create-admin")


def say(command: str, line: str) -> None:
    print(f"tertulia {command}: {line}", flush=True)


class ExchangeError(Exception):
    """What the operator reads (one line) when an export or an import cannot be done."""


def run(args: argparse.Namespace) -> int:
    from services.chat.domain import ChatError
    from services.chat.domain.export_format import FormatError

    data_dir = args.data_dir.resolve() if args.data_dir is not None else None
    try:
        if args.command == "export":
            asyncio.run(export_to(args.output, data_dir, room_id=args.room,
                                  user_id=args.user, files=args.files))
        else:
            report = asyncio.run(import_from(args.path, data_dir, slack=args.slack))
            for line in report:
                say("import", line)
    except FormatError as exc:
        print(f"tertulia import: {args.path}: {exc}; nothing was imported", file=sys.stderr,
              flush=True)
        return 1
    except (ChatError, ExchangeError) as exc:
        message = exc.message if isinstance(exc, ChatError) else str(exc)
        print(f"tertulia {args.command}: {message}", file=sys.stderr, flush=True)
        return 1
    return 0


async def _storage(stack: AsyncExitStack, data_dir: Path | None, *, migrate: bool
                   ) -> tuple[Any, Any, Any]:
    """The chat settings, database (at the latest schema) and blob store."""
    from services.chat.adapters.outbound.file_wiring import blob_store
    from services.chat.migrations import SCHEMA
    from shared.bus.memory import InMemoryEventBus
    from shared.db import Database
    from shared.lifecycle import connect_bus, open_database

    settings = service_settings("chat", data_dir)
    db = Database(settings.resolved_database_url())
    await open_database(stack, db, SCHEMA, auto_migrate=migrate)
    # The files' bytes where the service keeps them: its data directory, or (CHAT_BLOBS=nats)
    # the JetStream bucket, through the chat service's own NATS user.
    bus: Any = InMemoryEventBus()
    if settings.blobs == "nats":
        bus = settings.nats_bus("chat", "tertulia-exchange")
        await connect_bus(stack, bus)
    return settings, db, blob_store(settings, bus)


async def export_to(output: Path, data_dir: Path | None, *, room_id: int | None = None,
                    user_id: int | None = None, files: bool = False) -> Path:
    from datetime import UTC, datetime

    from services.chat.adapters.export_stream import archive, ndjson
    from services.chat.adapters.outbound.sqla_export import SqlaExportSource
    from services.chat.domain.export_format import ExportScope, end, header

    if await asyncio.to_thread(output.exists):
        raise ExchangeError(f"{output} exists; give a new file")
    if room_id is not None:
        scope = ExportScope("room", room_id=room_id, files=files)
    elif user_id is not None:
        scope = ExportScope("user", user_id=user_id, files=files)
    else:
        scope = ExportScope("server", files=files, audit=True)
    async with AsyncExitStack() as stack:
        settings, db, blobs = await _storage(stack, data_dir, migrate=False)
        source = SqlaExportSource(db)
        now = datetime.now(UTC)
        await _audit_export(db, scope, now)
        counts: dict[str, int] = {}

        async def records() -> AsyncIterator[dict[str, Any]]:
            yield header(scope, now)
            async for record in source.records(scope):
                counts[record["type"]] = counts.get(record["type"], 0) + 1
                yield record
            yield end(counts)

        body = (archive(records(), blobs, settings.uploads_tmp_dir(), now.timestamp())
                if files else ndjson(records()))
        partial = output.with_name(output.name + ".partial")
        handle = await asyncio.to_thread(partial.open, "xb")
        try:
            async for chunk in body:
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(partial.replace, output)
        except BaseException:
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(partial.unlink, True)
            raise
    shown = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing"
    say("export", f"{scope.kind}: {shown} -> {output}")
    return output


async def _audit_export(db: Any, scope: Any, now: Any) -> None:
    """`export.run`, by no account (an operator's command), as the HTTP exports are."""
    from services.chat.adapters.outbound.sqla_store import SqlaChatUnitOfWork
    from services.chat.domain import GUEST
    from services.chat.use_cases.audit import record

    target = scope.room_id if scope.kind == "room" else scope.user_id
    async with SqlaChatUnitOfWork(db).write() as tx:
        await record(tx, now, GUEST, "export.run", scope.kind, target, room_id=scope.room_id,
                     files=scope.files, command=True)


async def import_from(path: Path, data_dir: Path | None, *, slack: bool = False) -> list[str]:
    from datetime import UTC, datetime

    from services.chat import use_cases
    from services.chat.adapters.outbound.export_files import open_source
    from services.chat.adapters.outbound.sqla_import import SqlaImportTarget

    if not await asyncio.to_thread(path.is_file):
        raise ExchangeError(f"{path}: no such file")
    async with AsyncExitStack() as stack:
        _settings, db, blobs = await _storage(stack, data_dir, migrate=True)
        if slack:
            from services.chat.adapters.outbound.slack_zip import SlackZipSource

            source: Any = SlackZipSource(path)
        else:
            source = await asyncio.to_thread(open_source, path)
        stack.callback(source.close)
        report = await use_cases.import_stream(source, SqlaImportTarget(db), blobs,
                                               datetime.now(UTC))
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items() if n) or "nothing"
    lines = [f"{report.scope} export from {path}: imported {counts}"]
    if report.files_without_bytes:
        lines.append(f"{report.files_without_bytes} files have no bytes in this stream "
                     "(their downloads answer 404): import the archive made with --files "
                     "or ?files=1 to have them")
    lines.append("accounts have no password: `tertulia create-admin --username NAME` gives "
                 "an administrator one, `tertulia set-password --username NAME` anyone")
    return lines
