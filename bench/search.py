"""Search on SQLite at scale (issue 16): 1,000,000 messages over 1,000 private rooms, one user
a member of 50 of them (so 5% of the messages are theirs to read). Measures a one-word
query's latency (median, p95) through the chat service's SQLite adapter
(`SqliteSearchIndex.find`, newest first, a page of 20) for common, medium and rare words
(and prefixes), and
the insert rate of messages with the FTS5 triggers on and off.

The words follow a Zipf distribution (s = 1) over a 30,000-word vocabulary (English and
Spanish words first, then made-up ones), 4 to 20 words per message: the commonest word is in
about two messages of three, as "the" is in chat.

    .venv/bin/python bench/search.py                 # 1,000,000 messages
    .venv/bin/python bench/search.py --messages 100000 --keep /tmp/search.db
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.chat.adapters.outbound.sqla_search import SqliteSearchIndex, fts5_match
from services.chat.domain.search import parse
from services.migrate import schema_of
from shared.db import Database
from shared.migrations import upgrade

ROOMS = 1000
USERS = 200
MEMBER_OF = 50
REAL = ("the to and a of is in it you that for on this we de la que el en y los se del "
        "las un por con no una su para es al lo como más o pero sus le ha me si sin sobre "
        "deploy build release review merge test fix bug issue server database query "
        "meeting lunch café mañana niño reunión año código despliegue error prueba "
        "tomorrow today yesterday thanks gracias please ok sure done ready").split()


def vocabulary(size: int, rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "tre", "san", "po", "ru", "vel", "dis", "qua", "ni",
                 "ber", "tor", "ga", "fe", "lin", "mon", "zu", "ra", "cho"]
    words, seen = list(REAL), set(REAL)
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def build(path: Path, messages: int, rng: random.Random) -> tuple[list[str], list[int]]:
    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.prepare()
        try:
            await upgrade(db, schema_of("chat"))
        finally:
            await db.dispose()

    asyncio.run(migrate())
    words = vocabulary(30_000, rng)
    cum = list(itertools.accumulate(1 / rank for rank in range(1, len(words) + 1)))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    start = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    with conn:
        conn.executemany(
            "INSERT INTO users (id, username, username_key, password_hash, is_admin, "
            "created_at) VALUES (?, ?, ?, 'x', 0, ?)",
            [(u, f"user{u}", f"user{u}", start) for u in range(1, USERS + 1)])
        conn.executemany(
            "INSERT INTO chat_rooms (id, name, is_private, created_at, last_seq, kind) "
            "VALUES (?, ?, 1, ?, 0, 'room')", [(r, f"room{r}", start)
                                               for r in range(1, ROOMS + 1)])
        mine = rng.sample(range(1, ROOMS + 1), MEMBER_OF)
        conn.executemany(
            "INSERT INTO room_members (room_id, user_id, role, joined_at, last_seen, "
            "read_seq) VALUES (?, 1, 'member', ?, ?, 0)", [(r, start, start) for r in mine])
    seqs = dict.fromkeys(range(1, ROOMS + 1), 0)
    began = time.perf_counter()
    batch = 50_000
    for first in range(1, messages + 1, batch):
        rows = []
        for mid in range(first, min(first + batch, messages + 1)):
            room = rng.randint(1, ROOMS)
            seqs[room] += 1
            user = rng.randint(1, USERS)
            text = " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(4, 20)))
            rows.append((mid, room, seqs[room], user, f"user{user}", text,
                         str(start + timedelta(seconds=mid))))
        with conn:
            conn.executemany(
                "INSERT INTO chat_messages (id, room_id, seq, user_id, username, content, "
                "message_type, created_at, is_deleted, also_send_to_room, reply_count) "
                "VALUES (?, ?, ?, ?, ?, ?, 'text', ?, 0, 0, 0)", rows)
    with conn:
        conn.executemany("UPDATE chat_rooms SET last_seq = ? WHERE id = ?",
                         [(s, r) for r, s in seqs.items()])
    print(f"built {messages:,} messages in {time.perf_counter() - began:.1f} s "
          f"(FTS5 triggers on), {path.stat().st_size / 2**20:.0f} MiB")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return words, mine


def counts(path: Path, words: list[str]) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {w: conn.execute("SELECT count(*) FROM chat_messages_fts WHERE "
                                "chat_messages_fts MATCH ?",
                                (fts5_match(parse(w).terms),)).fetchone()[0]
                for w in words}
    finally:
        conn.close()


async def latencies(path: Path, word_sets: dict[str, list[str]], rooms: list[int],
                    runs: int, relevance: bool) -> dict[str, tuple[float, float]]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.prepare()
    out = {}
    try:
        for label, group in word_sets.items():
            times = []
            for _ in range(runs):
                for word in group:
                    query = parse(word)
                    began = time.perf_counter()
                    async with db.read() as conn:
                        await SqliteSearchIndex(conn).find(query, sorted(rooms),
                                                           relevance=relevance, limit=21)
                    times.append((time.perf_counter() - began) * 1000)
            times.sort()
            out[label] = (statistics.median(times), times[int(len(times) * 0.95) - 1])
    finally:
        await db.dispose()
    return out


def insert_rate(path: Path, words: list[str], rng: random.Random, n: int, per_tx: int,
                triggers: bool) -> float:
    """Messages a second, `per_tx` per transaction (the group commit's batches), WAL and
    synchronous=NORMAL as the service runs; the rows are removed afterwards."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    saved = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                         "AND name LIKE 'chat_messages_fts_%'").fetchall()
    if not triggers:
        for name, _ in saved:
            conn.execute(f"DROP TRIGGER {name}")
    top = conn.execute("SELECT max(id) FROM chat_messages").fetchone()[0]
    rows = [(top + i, 1, 10_000_000 + i, 1, "user1",
             " ".join(rng.choices(words[:5000], k=rng.randint(4, 20))),
             "2027-01-01 00:00:00") for i in range(1, n + 1)]
    began = time.perf_counter()
    for i in range(0, n, per_tx):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO chat_messages (id, room_id, seq, user_id, username, content, "
            "message_type, created_at, is_deleted, also_send_to_room, reply_count) "
            "VALUES (?, ?, ?, ?, ?, ?, 'text', ?, 0, 0, 0)", rows[i:i + per_tx])
        conn.execute("COMMIT")
    rate = n / (time.perf_counter() - began)
    conn.execute("DELETE FROM chat_messages WHERE id > ?", (top,))  # the triggers, if on
    if not triggers:
        for _, sql in saved:
            conn.execute(sql)
    conn.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="build here (or reuse it if it exists)")
    args = parser.parse_args()
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "search.db"
        if path.exists():
            words, mine = vocabulary(30_000, rng), []
            conn = sqlite3.connect(path)
            mine = [r for (r,) in conn.execute(
                "SELECT room_id FROM room_members WHERE user_id = 1")]
            conn.close()
        else:
            words, mine = build(path, args.messages, rng)
        word_sets = {"common": ["the", "to", "and"], "medium": words[150:153],
                     "rare": words[20_000:20_003], "prefix": ["lo*", "tre*", "deplo*"]}
        found = counts(path, [w for g in word_sets.values() for w in g])
        for label, group in word_sets.items():
            shown = ", ".join(f"{w!r} in {found[w]:,}" for w in group)
            print(f"{label:7} words: {shown} messages")
        for relevance in (False, True):
            order = "relevance" if relevance else "newest first"
            result = asyncio.run(latencies(path, word_sets, mine,
                                           args.runs if not relevance else 3, relevance))
            for label, (median, p95) in result.items():
                print(f"query {order:12} {label:7} median {median:7.2f} ms  p95 {p95:7.2f} ms")
        for per_tx in (1, 50):
            on = insert_rate(path, words, rng, 5000, per_tx, triggers=True)
            off = insert_rate(path, words, rng, 5000, per_tx, triggers=False)
            print(f"insert {per_tx:3} per transaction: {on:8,.0f}/s with the FTS5 triggers, "
                  f"{off:8,.0f}/s without")


if __name__ == "__main__":
    main()
