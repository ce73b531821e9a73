"""Tertulia's benchmark: the same scenarios against Tertulia and against the servers it is
judged by, side by side; prints a markdown table with ratios and PASS/FAIL per goal and writes
every pass to bench/results/<timestamp>.json. See bench/README.md.

    .venv/bin/python bench/run.py                       # everything, 2 passes (~25 min)
    .venv/bin/python bench/run.py --quick               # a smoke run (~4 min)
    .venv/bin/python bench/run.py --only A,C --servers naive,tertulia
    .venv/bin/python bench/run.py --tertulia-root /tmp/tertulia-base
    .venv/bin/python bench/run.py --compare-root /tmp/tertulia-base   # adds tertulia@base
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import report
from scenarios import QUICK_SEED_USERS, SEED_USERS, Scenario, make_scenarios
from servers import (
    BENCH,
    LOADGEN_CPUS,
    ROOT,
    NaiveServer,
    NodeServer,
    Seed,
    Server,
    SocketioServer,
    Target,
    TertuliaServer,
    check_root,
    drop_database,
    started,
    verify_history,
)

# tertulia-N: N chat replicas on one NATS and one DATA_DIR, unpinned, A only.
REPLICATED = {f"tertulia-{n}": n for n in (2, 3)}
SERVERS = ["naive", "naive-nodb", "socketio", "node", "tertulia", "tertulia-pg", *REPLICATED]
# The run order within a pass; tertulia-unpinned (one replica) runs right before the
# tertulia-N it is the baseline of.
ORDER = ["naive", "naive-nodb", "socketio", "node", "tertulia", "tertulia-pg", "tertulia@base",
         "tertulia-unpinned", *REPLICATED]
C10K_DEFAULT = {"tertulia", "node", "tertulia@base"}
POSTS_SERVERS = {"tertulia", "tertulia-pg", "tertulia@base"}
NEEDED_FILES = 10_020 + 500  # C10k: per process (the server, the load generator)


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


class Workspace:
    """Temporary directories, the seeds (made on first use) and the databases to drop."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="tertulia-bench-"))
        self.root = args.tertulia_root
        self.base = args.compare_root
        self.seed_users = QUICK_SEED_USERS if args.quick else SEED_USERS
        self.seeds: dict[tuple[Path, bool], Seed] = {}
        self.databases: list[str] = []

    def seed(self, root: Path, postgres: bool) -> Seed:
        key = (root, postgres)
        if key not in self.seeds:
            kind = "postgres" if postgres else "sqlite"
            say(f"seeding {self.seed_users} users for {root} ({kind}; argon2, once per run)")
            seed = Seed(root, self.tmp / f"seed-{len(self.seeds)}-{kind}", self.seed_users,
                        postgres)
            seed.make(self.databases)
            self.seeds[key] = seed
        return self.seeds[key]

    def make(self, name: str, workdir: Path) -> Server:
        workdir.mkdir(parents=True)
        if name == "naive":
            return NaiveServer(name, workdir)
        if name == "naive-nodb":
            return NaiveServer(name, workdir, no_db=True)
        if name == "socketio":
            return SocketioServer(name, workdir)
        if name == "node":
            return NodeServer(name, workdir)
        root = self.base if name == "tertulia@base" else self.root
        postgres = name == "tertulia-pg"
        pinned = name != "tertulia-unpinned" and name not in REPLICATED
        replicas = REPLICATED.get(name, 1)
        return TertuliaServer(name, workdir, pinned, self.seed(root, postgres), replicas,
                              self.databases)

    def close(self) -> None:
        for db in list(self.databases):
            try:
                drop_database(db, self.databases)
            except Exception as exc:  # keep cleaning up the rest
                say(f"could not drop database {db}: {exc}")
        if not self.args.keep_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            say(f"kept {self.tmp}")


def servers_for(scenario: str, args: argparse.Namespace) -> list[str]:
    chosen = set(args.servers)
    if args.compare_root:
        chosen.add("tertulia@base")
    if scenario == "A":
        if chosen & REPLICATED.keys():
            chosen.add("tertulia-unpinned")
    else:
        chosen -= REPLICATED.keys()
    if scenario == "C10k" and not args.c10k_all:
        chosen &= C10K_DEFAULT
    if scenario == "posts":
        chosen &= POSTS_SERVERS
    return [s for s in ORDER if s in chosen]


def loadgen_config(scenario: Scenario, target: Target, clk_tck: int) -> dict[str, Any]:
    layout = scenario.layout
    return {
        "scenario": scenario.name,
        "protocol": target.protocol,
        "urls": target.ws_urls,
        "sockets": {"room": [target.room_ids[r] for r in layout.socket_room],
                    "user": layout.socket_user},
        "tokens": target.tokens,
        "senders": layout.senders,
        "pids": {"server": target.pids, "db": target.db_pids},
        "clk_tck": clk_tck,
        "params": scenario.params,
    }


def run_loadgen(config: dict[str, Any], workdir: Path, pinned: bool,
                timeout_s: float) -> dict[str, Any]:
    path = workdir / "loadgen-config.json"
    path.write_text(json.dumps(config))
    cmd = ["node", "--expose-gc", str(BENCH / "loadgen.js"), str(path)]
    if pinned:
        cmd = ["taskset", "-c", LOADGEN_CPUS, *cmd]
    # Its progress lines go to our stderr; the result is the last line of its stdout.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"load generator still running after {timeout_s}s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"load generator exited with {proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@contextlib.contextmanager
def profiled(out_dir: Path | None, pids: list[int], label: str) -> Iterator[None]:
    """With --profile: py-spy samples each chat process (only while it holds the GIL, so
    waiting is not counted) while the load runs: one file of collapsed stacks per process
    (`py-spy record --format raw`, the input of flame-graph tools)."""
    if out_dir is None:
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    spies = []
    for pid in pids:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"services.cli" not in cmdline:
            continue  # nats-server, a naive peer...
        out = out_dir / f"{label}-{pid}.txt"
        spies.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
             "--rate", "250",
             "--gil", "--nonblocking", "--format", "raw", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(30)


def run_one(ws: Workspace, scenario: Scenario, name: str, pass_no: int) -> dict[str, Any]:
    workdir = ws.tmp / f"{scenario.name}-{name}-{pass_no}"
    server = ws.make(name, workdir)
    started_at = time.monotonic()
    with started(server, scenario.layout) as target:
        config = loadgen_config(scenario, target, os.sysconf("SC_CLK_TCK"))
        with profiled(ws.args.profile, target.pids, f"{scenario.name}-{name}-{pass_no}"):
            result = run_loadgen(config, workdir, server.pinned, scenario.timeout_s)
        if scenario.name == "posts" and target.http_url:
            result["history"] = asyncio.run(verify_history(
                target.http_url, target.tokens[0], target.room_ids, result.pop("acked")))
    gone = result.get("usage", {}).get("server_gone")
    if gone:
        raise RuntimeError(f"server process(es) {gone} died during the run")
    result["wall_s"] = round(time.monotonic() - started_at, 1)
    result["pinned"] = server.pinned
    return result


def one_line(scenario: str, r: dict[str, Any]) -> str:
    d = report.dig
    intact = report.integrity(r)
    if scenario == "A":
        return (f"{d(r, 'deliveries_per_s'):,.0f} deliveries/s, "
                f"{d(r, 'server_cpu_us_per_delivery'):.1f} µs CPU/delivery, "
                f"p99 {d(r, 'latency', 'p99_ms')} ms, missing/closed/failed {intact}, "
                f"load generator {d(r, 'usage', 'loadgen_cpu_pct'):.0f}% CPU")
    if scenario == "B":
        return (f"p50 {d(r, 'latency', 'p50_ms')} p99 {d(r, 'latency', 'p99_ms')} ms, "
                f"CPU {d(r, 'usage', 'server_cpu_s'):.2f} s, missing/closed/failed {intact}")
    if scenario in ("C", "C10k"):
        return (f"{d(r, 'connect', 'connects_per_s'):,.0f} connects/s, "
                f"{d(r, 'server_cpu_ms_per_connect'):.3f} ms CPU/connect, "
                f"{d(r, 'rss_kb_per_socket'):.1f} KB/socket, p99 {d(r, 'latency', 'p99_ms')}, "
                f"missing/closed/failed {intact}")
    history = r.get("history", {})
    return (f"{d(r, 'messages_per_s'):,.0f} msg/s, ack p99 {d(r, 'ack_latency', 'p99_ms')} ms, "
            f"lost: {history.get('lost')}, seq gaps: {history.get('seq_gaps')}, "
            f"missing/closed/failed {intact}")


def pick_best(scenario: Scenario, passes: list[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [(scenario.score(p), p) for p in passes if "error" not in p]
    scored = [(s, p) for s, p in scored if s is not None]
    return max(scored, key=lambda sp: sp[0])[1] if scored else None


def commit_of(root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True).stdout.strip()

    dirty = " + uncommitted changes" if git("status", "--porcelain", "--", "services",
                                            "shared") else ""
    return (git("rev-parse", "HEAD") or "unknown") + dirty


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short phases, fewer sockets")
    parser.add_argument("--passes", type=int, help="passes per scenario (2; --quick: 1)")
    parser.add_argument("--only", default="A,B,C,C10k,posts", help="scenarios, comma-separated")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"comma-separated, of: {','.join(SERVERS)}")
    parser.add_argument("--tertulia-root", type=Path, default=ROOT,
                        help="the Tertulia checkout to run (default: this one)")
    parser.add_argument("--compare-root", type=Path,
                        help="a second checkout, measured as the tertulia@base column")
    parser.add_argument("--c10k-all", action="store_true",
                        help="C10k against every selected server, not only tertulia and node")
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    parser.add_argument("--keep-tmp", action="store_true", help="keep logs and data dirs")
    parser.add_argument("--profile", type=Path,
                        help="a directory: py-spy samples every Tertulia process during the "
                             "measured runs (collapsed stacks, one file per process)")
    args = parser.parse_args(argv)
    args.only = [s for s in args.only.split(",") if s]
    args.servers = [s for s in args.servers.split(",") if s]
    for name in args.servers:
        if name not in SERVERS:
            parser.error(f"unknown server {name!r}")
    if args.passes is None:
        args.passes = 1 if args.quick else 2
    args.tertulia_root = args.tertulia_root.resolve()
    if args.compare_root:
        args.compare_root = args.compare_root.resolve()
    return args


def preflight(args: argparse.Namespace) -> None:
    for tool in ("node", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found")
    if not (BENCH / "node_modules" / "ws").is_dir():
        raise SystemExit("bench/node_modules is missing: run `npm ci` in bench/ (make bench)")
    if os.cpu_count() is None or (os.cpu_count() or 0) < 2:
        raise SystemExit("the placement needs two cores (server on 0, load generator on 1)")
    for root in filter(None, (args.tertulia_root, args.compare_root)):
        check_root(root)
    # Children inherit the soft limit: thousands of sockets need as many descriptors.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < NEEDED_FILES:
        say(f"warning: the descriptor limit is {hard}; C10k needs about {NEEDED_FILES}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    preflight(args)
    scenarios = make_scenarios(args.quick)
    unknown = [s for s in args.only if s not in scenarios]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; choose from {list(scenarios)}")
    started_at = datetime.now(UTC)
    runs: list[dict[str, Any]] = []
    ws = Workspace(args)
    try:
        for name in args.only:
            scenario = scenarios[name]
            say(f"== {name}: {scenario.describe}")
            for pass_no in range(1, args.passes + 1):
                for server in servers_for(name, args):
                    say(f"-- {name} pass {pass_no}: {server}")
                    try:
                        result = run_one(ws, scenario, server, pass_no)
                        say(f"   {one_line(name, result)}")
                    except Exception as exc:
                        say(f"   FAILED: {exc}")
                        traceback.print_exc()
                        result = {"error": str(exc)}
                    runs.append({"scenario": name, "server": server, "pass": pass_no,
                                 "result": result})
    except KeyboardInterrupt:
        say("interrupted: reporting what has run")
    finally:
        ws.close()

    best: report.Best = {}
    for run in runs:
        key = (run["scenario"], run["server"])
        if key not in best:
            passes = [r["result"] for r in runs if (r["scenario"], r["server"]) == key]
            best[key] = pick_best(scenarios[run["scenario"]], passes)
    table = report.table(best)
    goals = report.goals_text(best)
    roots = {"tertulia": str(args.tertulia_root), "tertulia_commit": commit_of(args.tertulia_root)}
    if args.compare_root:
        roots |= {"base": str(args.compare_root), "base_commit": commit_of(args.compare_root)}
    meta = {"started": started_at.isoformat(), "argv": sys.argv, "quick": args.quick,
            "passes": args.passes, **roots, "bench_commit": commit_of(ROOT),
            "python": platform.python_version(), "machine": platform.machine(),
            "cores": os.cpu_count(), "placement": "server and NATS on core 0, load generator "
            "on core 1; tertulia-2, tertulia-3 and tertulia-unpinned unpinned"}
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps({
        "meta": meta, "runs": runs,
        "best": [{"scenario": s, "server": v, "result": r} for (s, v), r in best.items()],
        "goals": report.evaluate(best), "table": table}, indent=1))
    print(f"Tertulia: {roots['tertulia']} at {roots['tertulia_commit']}")
    if args.compare_root:
        print(f"tertulia@base: {roots['base']} at {roots['base_commit']}")
    print(f"better of {args.passes} pass(es); every pass in {out}\n")
    print(table)
    print("\nGoals:\n" + goals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
