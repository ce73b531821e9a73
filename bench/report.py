"""The printed table: one row per measure, one column per server, ratio columns, and the
goals the numbers are judged against (PASS/FAIL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Result = dict[str, Any]
Best = dict[tuple[str, str], Result | None]  # (scenario, server) -> the better pass

COLUMNS = [
    ("naive", "naive"),
    ("naive-nodb", "naive (no DB)"),
    ("socketio", "python-socketio"),
    ("node", "node ws"),
    ("tertulia", "tertulia"),
    ("tertulia-pg", "tertulia-pg"),
    ("tertulia-unpinned", "tertulia unpinned"),
    ("tertulia-2", "tertulia-2 unpinned"),
    ("tertulia-3", "tertulia-3 unpinned"),
    ("tertulia@base", "tertulia@base"),
]
RATIOS = [("naive", "T÷naive"), ("socketio", "T÷socketio"), ("naive-nodb", "T÷naive-noDB"),
          ("tertulia@base", "T÷base")]


def dig(result: Result | None, *path: str) -> Any:
    value: Any = result
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def integrity(r: Result | None) -> str | None:
    """missing deliveries / sockets closed by the server / failed connects."""
    if r is None:
        return None
    failed = dig(r, "connect", "failed") or 0
    return f"{dig(r, 'losses', 'missing')}/{r.get('closed_by_server')}/{failed}"


@dataclass(frozen=True)
class Row:
    scenario: str
    label: str
    get: Callable[[Result | None], Any]
    digits: int = 0
    ratios: tuple[str, ...] = ()  # the peers a goal compares this row with
    goals: tuple[str, ...] = ()


ROWS = [
    Row("A", "A deliveries/s", lambda r: dig(r, "deliveries_per_s"), 0,
        ("naive", "socketio"), ("A-naive", "A-socketio")),
    Row("A", "A server CPU µs/delivery (incl. NATS)",
        lambda r: dig(r, "server_cpu_us_per_delivery"), 1),
    Row("A", "A latency p50 ms", lambda r: dig(r, "latency", "p50_ms"), 2),
    Row("A", "A latency p99 ms", lambda r: dig(r, "latency", "p99_ms"), 2,
        ("naive-nodb",), ("A-p99",)),
    Row("A", "A missing/closed/failed", integrity, goals=("intact",)),
    Row("B", "B latency p50 ms", lambda r: dig(r, "latency", "p50_ms"), 2),
    Row("B", "B latency p99 ms", lambda r: dig(r, "latency", "p99_ms"), 2,
        ("socketio",), ("B-p99",)),
    Row("B", "B latency max ms", lambda r: dig(r, "latency", "max_ms"), 2),
    Row("B", "B server CPU s in the measured phase", lambda r: dig(r, "usage", "server_cpu_s"),
        2, ("socketio",), ("B-cpu",)),
    Row("B", "B missing/closed/failed", integrity, goals=("intact",)),
    Row("C", "C connections/s", lambda r: dig(r, "connect", "connects_per_s"), 0,
        ("naive-nodb",), ("C-rate",)),
    Row("C", "C server CPU ms/connect", lambda r: dig(r, "server_cpu_ms_per_connect"), 3,
        goals=("C-cpu",)),
    Row("C", "C RSS KB/socket", lambda r: dig(r, "rss_kb_per_socket"), 1, goals=("C-rss",)),
    Row("C", "C missing/closed/failed", integrity, goals=("intact",)),
    Row("C10k", "C10k all sockets held", lambda r: None if r is None else
        ("yes" if r.get("held") else "NO"), goals=("C10k",)),
    Row("C10k", "C10k latency p50 ms", lambda r: dig(r, "latency", "p50_ms"), 2),
    Row("C10k", "C10k latency p99 ms", lambda r: dig(r, "latency", "p99_ms"), 2,
        goals=("C10k",)),
    Row("C10k", "C10k server CPU ms/connect", lambda r: dig(r, "server_cpu_ms_per_connect"), 3),
    Row("C10k", "C10k RSS KB/socket", lambda r: dig(r, "rss_kb_per_socket"), 1),
    Row("C10k", "C10k missing/closed/failed", integrity, goals=("intact",)),
    Row("posts", "posts messages/s", lambda r: dig(r, "messages_per_s"), 0,
        goals=("posts-sqlite", "posts-pg")),
    Row("posts", "posts ack latency p50 ms", lambda r: dig(r, "ack_latency", "p50_ms"), 2),
    Row("posts", "posts ack latency p99 ms", lambda r: dig(r, "ack_latency", "p99_ms"), 2),
    Row("posts", "posts server CPU s in the measured phase",
        lambda r: dig(r, "usage", "server_cpu_s"), 2),
    Row("posts", "posts PostgreSQL backends CPU s", lambda r: dig(r, "usage", "db_cpu_s")
        if dig(r, "usage", "db_cpu_s") else None, 2),
    Row("posts", "posts lost (history check)", lambda r: dig(r, "history", "lost"),
        goals=("intact",)),
    Row("posts", "posts seq gaps (history check)", lambda r: dig(r, "history", "seq_gaps"),
        goals=("intact",)),
    Row("posts", "posts missing/closed/failed", integrity, goals=("intact",)),
]


def value(best: Best, scenario: str, server: str, get: Callable[[Result | None], Any]) -> Any:
    key = (scenario, server)
    if key not in best:
        return None
    return get(best[key])


def fmt(v: Any, digits: int) -> str:
    if v is None:
        return ""
    if isinstance(v, float | int) and not isinstance(v, bool):
        return f"{v:,.{digits}f}"
    return str(v)


def ratio(a: Any, b: Any) -> float | None:
    if not isinstance(a, float | int) or not isinstance(b, float | int) or not b:
        return None
    return a / b


# --- goals --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Goal:
    key: str
    text: str
    check: Callable[[Best], tuple[bool | None, str]]


def _cmp(best: Best, scenario: str, get: Callable[[Result | None], Any], server: str,
         test: Callable[[float, float], bool], show: Callable[[float, float], str]
         ) -> tuple[bool | None, str]:
    t = value(best, scenario, "tertulia", get)
    other = value(best, scenario, server, get)
    if not isinstance(t, float | int) or not isinstance(other, float | int):
        return None, "not measured"
    return test(t, other), show(t, other)


def _times(t: float, o: float) -> str:
    return f"{t / o:.2f}x" if o else "n/a"


def _abs(best: Best, scenario: str, server: str, get: Callable[[Result | None], Any],
         test: Callable[[float], bool], unit: str) -> tuple[bool | None, str]:
    v = value(best, scenario, server, get)
    if not isinstance(v, float | int):
        return None, "not measured"
    return test(v), f"{v:,.2f} {unit}"


def _c10k(best: Best) -> tuple[bool | None, str]:
    r = best.get(("C10k", "tertulia"))
    p99 = dig(r, "latency", "p99_ms")
    if r is None or p99 is None:
        return None, "not measured"
    return bool(r.get("held")) and p99 <= 10, f"held: {r.get('held')}, p99 {p99:.2f} ms"


def _two_replicas(best: Best) -> tuple[bool | None, str]:
    one = dig(best.get(("A", "tertulia-unpinned")), "deliveries_per_s")
    two = dig(best.get(("A", "tertulia-2")), "deliveries_per_s")
    if not one or two is None:
        return None, "not measured"
    return two / one >= 1.6, f"{two / one:.2f}x"


def _intact(best: Best) -> tuple[bool | None, str]:
    bad = []
    for (scenario, server), r in best.items():
        if not server.startswith("tertulia"):
            continue
        if r is None:
            bad.append(f"{scenario}/{server}: failed")
            continue
        problems = [dig(r, "losses", "missing"), r.get("closed_by_server"),
                    dig(r, "connect", "failed"), dig(r, "history", "lost"),
                    dig(r, "history", "seq_gaps")]
        if any(p for p in problems):
            bad.append(f"{scenario}/{server}")
    if not any(s.startswith("tertulia") for _, s in best):
        return None, "not measured"
    return not bad, "; ".join(bad) or "every Tertulia run"


def _deliveries(r: Result | None) -> Any:
    return dig(r, "deliveries_per_s")


def _p99(r: Result | None) -> Any:
    return dig(r, "latency", "p99_ms")


def _cpu(r: Result | None) -> Any:
    return dig(r, "usage", "server_cpu_s")


GOALS = [
    Goal("A-naive", "A deliveries/s (SQLite) ≥ 3x naive",
         lambda b: _cmp(b, "A", _deliveries, "naive", lambda t, o: t >= 3 * o, _times)),
    Goal("A-socketio", "A deliveries/s (SQLite) ≥ 1.5x python-socketio",
         lambda b: _cmp(b, "A", _deliveries, "socketio", lambda t, o: t >= 1.5 * o, _times)),
    Goal("A-p99", "A p99 ≤ 1.5x naive-no-DB p99",
         lambda b: _cmp(b, "A", _p99, "naive-nodb", lambda t, o: t <= 1.5 * o, _times)),
    Goal("B-p99", "B p99 ≤ python-socketio p99 + 1 ms",
         lambda b: _cmp(b, "B", _p99, "socketio", lambda t, o: t <= o + 1,
                        lambda t, o: f"{t:.2f} vs {o:.2f} ms")),
    Goal("B-cpu", "B server CPU ≤ python-socketio's",
         lambda b: _cmp(b, "B", _cpu, "socketio", lambda t, o: t <= o,
                        lambda t, o: f"{t:.2f} vs {o:.2f} s")),
    Goal("C-rss", "C RSS/socket ≤ 20 KB",
         lambda b: _abs(b, "C", "tertulia", lambda r: dig(r, "rss_kb_per_socket"),
                        lambda v: v <= 20, "KB")),
    Goal("C-rate", "C connections/s ≥ 1.5x naive-no-DB",
         lambda b: _cmp(b, "C", lambda r: dig(r, "connect", "connects_per_s"), "naive-nodb",
                        lambda t, o: t >= 1.5 * o, _times)),
    Goal("C-cpu", "C CPU per connect ≤ 0.5 ms",
         lambda b: _abs(b, "C", "tertulia", lambda r: dig(r, "server_cpu_ms_per_connect"),
                        lambda v: v <= 0.5, "ms")),
    Goal("C10k", "C10k held and p99 ≤ 10 ms", _c10k),
    Goal("posts-sqlite", "posts ≥ 5,000 msg/s on SQLite",
         lambda b: _abs(b, "posts", "tertulia", lambda r: dig(r, "messages_per_s"),
                        lambda v: v >= 5000, "msg/s")),
    Goal("posts-pg", "posts ≥ 3,000 msg/s on PostgreSQL",
         lambda b: _abs(b, "posts", "tertulia-pg", lambda r: dig(r, "messages_per_s"),
                        lambda v: v >= 3000, "msg/s")),
    Goal("A-2", "tertulia-2 A ≥ 1.6x tertulia (unpinned)", _two_replicas),
    Goal("intact", "nothing lost, no socket closed by the server, no failed connect", _intact),
]


def verdict(ok: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[ok]


def evaluate(best: Best) -> list[dict[str, Any]]:
    """The goals of the scenarios that ran (the integrity goal whenever anything ran)."""
    scenarios = {s for s, _ in best}
    out = []
    for goal in GOALS:
        if goal.key != "intact" and goal.key.split("-")[0] not in scenarios:
            continue
        ok, detail = goal.check(best)
        out.append({"key": goal.key, "goal": goal.text, "ok": ok, "verdict": verdict(ok),
                    "detail": detail})
    return out


def table(best: Best) -> str:
    servers = {s for _, s in best}
    columns = [(k, h) for k, h in COLUMNS if k in servers]
    ratios = [(k, h) for k, h in RATIOS if k in servers]
    goals = {g["key"]: g for g in evaluate(best)}
    head = ["measure", *(h for _, h in columns), *(h for _, h in ratios), "goal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    scenarios = {s for s, _ in best}
    for row in ROWS:
        if row.scenario not in scenarios:
            continue
        cells = [row.label]
        for key, _ in columns:
            if (row.scenario, key) in best and best[(row.scenario, key)] is None:
                cells.append("failed")
            else:
                cells.append(fmt(value(best, row.scenario, key, row.get), row.digits))
        t = value(best, row.scenario, "tertulia", row.get)
        for key, _ in ratios:
            shown = key in row.ratios or key == "tertulia@base"
            r = ratio(t, value(best, row.scenario, key, row.get)) if shown else None
            cells.append(f"{r:.2f}x" if r is not None else "")
        cells.append("; ".join(f"{verdict(goals[g]['ok'])} {goals[g]['goal']}"
                               for g in row.goals if g != "intact"))
        lines.append("| " + " | ".join(cells) + " |")
    if ("A", "tertulia-2") in best:
        g = goals["A-2"]
        lines.append(f"| A tertulia-2 ÷ tertulia unpinned | {g['detail']} |"
                     + " |" * (len(head) - 3) + f" {g['verdict']} {g['goal']} |")
    if ("A", "tertulia-3") in best:
        one = dig(best.get(("A", "tertulia-unpinned")), "deliveries_per_s")
        three = dig(best.get(("A", "tertulia-3")), "deliveries_per_s")
        shown = f"{three / one:.2f}x" if one and three is not None else "not measured"
        lines.append(f"| A tertulia-3 ÷ tertulia unpinned | {shown} |" + " |" * (len(head) - 2))
    return "\n".join(lines)


def goals_text(best: Best) -> str:
    return "\n".join(f"- {g['verdict']}: {g['goal']} ({g['detail']})" for g in evaluate(best))
