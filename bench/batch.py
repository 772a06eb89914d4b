"""symgrad batch on a local Dask cluster: 1 worker against 2, and its records against the stream's.

    python bench/batch.py [--lines 20000] [--runs 1]

Goal (issue 14): on this 2-core machine, 2 local workers answer a 20,000-line file at least
1.6x as fast as 1 worker, and the records (less their ``file``) equal those of
``symgrad grad - --format json`` on the same lines. Each run is timed whole, the start and
stop of its local cluster included, into a fresh output directory; runs alternate, so that a
change in machine load hits both alike, and medians are printed. The lines are
bench/throughput.py's typical expressions, from its fixed seed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from throughput import expressions

from symgrad.cli.cluster import run_batch


def timed_run(data: Path, out: Path, workers: int) -> float:
    start = time.perf_counter()
    report = run_batch([str(data)], out, workers=workers)
    elapsed = time.perf_counter() - start
    assert report.answered == report.lines, report
    return elapsed


def records_of(directory: Path) -> list[dict]:
    records = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            del record["file"]
            records.append(record)
    return records


def stream_records(data: Path) -> list[dict]:
    # this interpreter's symgrad: the code that run_batch runs, whatever PATH finds
    cmd = [sys.executable, "-m", "symgrad", "grad", "-", "--format", "json", "--jobs", "2"]
    with data.open("rb") as stdin:
        proc = subprocess.run(cmd, stdin=stdin, capture_output=True, check=False)
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    load = os.getloadavg()  # other processes on 2 cores take from the speedup
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "lines.txt"
        data.write_text("\n".join(expressions(args.lines)) + "\n", encoding="utf-8")
        times: dict[int, list[float]] = {1: [], 2: []}
        for run in range(args.runs):
            for workers in times:
                out = Path(tmp) / f"out-{workers}-{run}"
                times[workers].append(timed_run(data, out, workers))
        ours, theirs = records_of(Path(tmp) / "out-2-0"), stream_records(data)
    same = ours == theirs
    if not same:
        differ = [(a, b) for a, b in zip(ours, theirs) if a != b]
        print(f"{len(ours)} records against {len(theirs)}, {len(differ)} differ; the first:")
        for record in differ[0] if differ else ():
            print(" ", json.dumps(record)[:300])
    one, two = (statistics.median(times[w]) for w in (1, 2))
    print(f"{args.lines:,} lines, median of {args.runs} run(s), local cluster start included")
    print(f"load average of the machine before and after: {load[0]:.1f}, {os.getloadavg()[0]:.1f}")
    print(f"{'workers':<8} {'wall s':>8} {'lines/s':>8}")
    for workers, wall in ((1, one), (2, two)):
        print(f"{workers:<8} {wall:8.1f} {args.lines / wall:8.0f}")
    print(f"speedup of 2 workers: {one / two:.2f}x (goal >= 1.6x)")
    print(f"records equal symgrad grad -'s: {'yes' if same else 'NO'}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
