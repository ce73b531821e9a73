"""`tertulia backup` and `tertulia restore`: the commands' arguments, and the one place that
turns what goes wrong into a message and an exit status. The work is in `make` (backup) and
`restore`; `jetstream` speaks the stream snapshot API, `files` copies the databases and the
key, `manifest` lists and checks what a backup holds. docs/operations.md, Backups, is the
operator's side."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    backup = commands.add_parser(
        "backup", help="copy the databases, the signing key and the EVENTS stream of a "
                       "running (or stopped) system into a new directory")
    backup.add_argument("--to", type=Path, required=True, metavar="DIR",
                        help="the backup directory (must not exist, or be empty)")
    backup.add_argument("--data-dir", type=Path, default=None,
                        help="the data directory `tertulia up --data-dir` was given "
                             "(default: each service's <P>DATA_DIR or DATA_DIR, else ./data)")
    backup.add_argument("--nats-url", default=None,
                        help="NATS, with JetStream (default: $NATS_URL, else "
                             "nats://127.0.0.1:4222); credentials from "
                             "$TERTULIA_NATS_ADMIN_USER / $TERTULIA_NATS_ADMIN_PASSWORD")

    restore = commands.add_parser(
        "restore", help="restore a backup into a new, empty data directory")
    restore.add_argument("--from", dest="source", type=Path, required=True, metavar="DIR",
                         help="a directory `tertulia backup` wrote")
    restore.add_argument("--data-dir", type=Path, required=True,
                         help="the data directory to create (must not exist, or be empty)")
    restore.add_argument("--nats-url", default=None,
                         help="restore the EVENTS stream into this running NATS (where it "
                              "must not exist yet); default: into <data-dir>/nats/jetstream, "
                              "the store `tertulia up` uses, with a nats-server started for "
                              "the purpose")


def run(args: argparse.Namespace) -> int:
    from services.backup.manifest import BackupError

    try:
        if args.command == "backup":
            from services.backup.make import backup

            data_dir = args.data_dir.resolve() if args.data_dir is not None else None
            asyncio.run(backup(args.to.resolve(), data_dir, args.nats_url))
        else:
            from services.backup.restore import restore

            asyncio.run(restore(args.source.resolve(), args.data_dir.resolve(), args.nats_url))
    except BackupError as exc:
        print(f"tertulia {args.command}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
