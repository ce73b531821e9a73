"""Summarise py-spy's collapsed stacks (`bench/run.py --profile DIR`): the share of samples
in each function itself ("self") and in it or anything it called ("inclusive").

    .venv/bin/python bench/profile_summary.py /tmp/prof/A-tertulia-1-*.txt [--top 30]

Samples are taken only while the process holds the GIL, so time spent waiting (for the
network, for the database thread) is not counted; a system call made holding the GIL is.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def frame_name(frame: str) -> str:
    """`function (path/to/file.py:123)` -> `function (file.py)`: one row per function."""
    name, _, where = frame.partition(" (")
    if not where:
        return frame
    return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})"


def summarise(paths: list[Path]) -> tuple[int, Counter[str], Counter[str]]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            samples = int(count)
            total += samples
            frames = [frame_name(f) for f in stack.split(";")]
            for name in set(frames):
                inclusive[name] += samples
            own[frames[-1]] += samples
    return total, own, inclusive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    total, own, inclusive = summarise(args.files)
    print(f"{total} samples")
    for title, counts in (("self", own), ("inclusive", inclusive)):
        print(f"\n{title}:")
        for name, samples in counts.most_common(args.top):
            print(f"{100 * samples / max(total, 1):5.1f}%  {name}")


if __name__ == "__main__":
    main()
