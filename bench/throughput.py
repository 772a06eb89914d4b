"""Throughput of a stdin stream against a bare sympy loop over the same lines, in the same run.

    python bench/throughput.py [--lines 2000] [--runs 3] [--jobs 2]

Goal (issue 10, tightening issue 4's 1.0x): ``symgrad grad - --format json`` on 2,000
typical expressions at most 0.85x a script that imports sympy and, per line, runs
``sympify`` + ``diff`` by every variable + ``json.dumps``. Both are timed as whole processes
(start-up included), runs alternate so that a change in machine load hits both alike, and
medians are printed: wall time, and the CPU time (user + system) of the process and its
children, which a busy machine disturbs much less.
The lines are generated from a fixed seed, so every run measures the same input.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The loop a user would write without symgrad: sympy's own parser, diff, json.
BARE = """\
import json, sys
import sympy
for raw in sys.stdin:
    line = raw.strip()
    if not line or line.startswith("#"):
        continue
    try:
        f = sympy.sympify(line)
        wrt = sorted(f.free_symbols, key=lambda s: s.name)
        record = {"input": line, "expression": str(f), "wrt": [s.name for s in wrt],
                  "gradient": [str(sympy.diff(f, v)) for v in wrt]}
    except Exception as exc:
        record = {"input": line, "error": {"kind": "parse", "message": str(exc)}}
    sys.stdout.write(json.dumps(record) + "\\n")
"""

# Loss terms, activations and layers as they appear in gradient notes; every template is valid
# for both symgrad and sympify (no implicit products, no symgrad-only functions).
TEMPLATES = [
    "{a}*{x}*{w} + {b}",
    "({y} - ({x}*{w} + {b}))^2",
    "{y}*log({w}*{x} + {b})",
    "exp({w})*{x} + exp({b})",
    "1/(1 + exp(-({w}*{x} + {b})))",
    "tanh({w}*{x} + {b})^2",
    "log(1 + exp({a}*{x}))",
    "exp({x})/(exp({x}) + exp({y}) + exp({z}))",
    "sqrt({x}^2 + {y}^2 + {c})",
    "sin({a}*{x})*cos({c}*{y})",
    "({x} - {mu})^2/(2*{s}^2)",
    "{w}^{n}*{x} + {b}^2",
    "-{y}*log({p}) - (1 - {y})*log(1 - {p})",
    "atan({x}/{y}) + {a}*{x}*{y}",
    "({a}*{x} + {c}*{y})^{n}",
]
NAMES = ["x", "y", "z", "w", "b", "w1", "w2", "x1", "x2", "theta", "mu", "s", "p", "t"]


def expressions(count: int, seed: int = 4) -> list[str]:
    """``count`` typical expressions, the same for the same seed."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        names = rng.sample(NAMES, 8)
        fields = dict(zip(["x", "y", "z", "w", "b", "mu", "s", "p"], names))
        fields.update(a=rng.randint(2, 9), c=rng.randint(2, 9), n=rng.randint(2, 5))
        lines.append(template.format(**fields))
    return lines


def symgrad_command() -> list[str]:
    exe = shutil.which("symgrad")
    return [exe] if exe else [sys.executable, "-m", "symgrad"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], data: Path) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of ``cmd`` on ``data``."""
    with data.open("rb") as stdin:
        cpu = _children_cpu()
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdin=stdin, capture_output=True)
        elapsed = time.perf_counter() - start
        cpu = _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="also time --jobs N (0: skip)")
    args = parser.parse_args()
    sg = symgrad_command()
    commands = {
        "bare sympy loop": [sys.executable, "-c", BARE],
        "symgrad grad -": [*sg, "grad", "-", "--format", "json"],
    }
    if args.jobs > 1:
        commands[f"symgrad --jobs {args.jobs}"] = [
            *commands["symgrad grad -"],
            "--jobs",
            str(args.jobs),
        ]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "lines.txt"
        data.write_text("\n".join(expressions(args.lines)) + "\n", encoding="utf-8")
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(timed(cmd, data))
    wall = {name: statistics.median(t[0] for t in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(t[1] for t in runs) for name, runs in times.items()}
    base = "bare sympy loop"
    print(f"{args.lines} lines, median of {args.runs} runs")
    print(f"{'command':<20} {'wall s':>8} {'ratio':>6} {'cpu s':>8} {'ratio':>6}  goal")
    goals = {"symgrad grad -": "<= 0.85"}
    for name in commands:
        print(
            f"{name:<20} {wall[name]:8.2f} {wall[name] / wall[base]:6.2f} "
            f"{cpu[name]:8.2f} {cpu[name] / cpu[base]:6.2f}  {goals.get(name, 'baseline')}"
        )


if __name__ == "__main__":
    main()
