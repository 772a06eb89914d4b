"""Cold start of `symgrad grad` against a bare sympy script, in the same run.

    python bench/coldstart.py [--runs 15]

Goal (issue 2): `symgrad grad "y*log(w*x+b)" --wrt w,b` at most 1.1x a script that imports
sympy and differentiates the same expression; `symgrad --help` and `--version` at most 0.3x.
Runs alternate so that a change in machine load hits every command alike; medians are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

BARE = (
    "import sympy\n"
    "w, x, y, b = sympy.symbols('w x y b', real=True)\n"
    "f = y*sympy.log(w*x + b)\n"
    "print(sympy.diff(f, w))\n"
    "print(sympy.diff(f, b))\n"
)


def symgrad_command() -> list[str]:
    exe = shutil.which("symgrad")
    return [exe] if exe else [sys.executable, "-m", "symgrad"]


# Measure the installed state: pip byte-compiles an installed package, but an editable one is
# compiled on first import, and never cached where PYTHONDONTWRITEBYTECODE is set (as on CI
# machines), which would add the compile time of symgrad's own modules to every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sg = symgrad_command()
    commands = {
        "bare sympy script": [sys.executable, "-c", BARE],
        "symgrad grad": [*sg, "grad", "y*log(w*x+b)", "--wrt", "w,b"],
        "symgrad --help": [*sg, "--help"],
        "symgrad --version": [*sg, "--version"],
    }
    for cmd in commands.values():  # warm the file cache and bytecode
        timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    base = statistics.median(times["bare sympy script"])
    print(f"{'command':<20} {'median s':>9} {'ratio':>6}  goal")
    goals = {"symgrad grad": "<= 1.10", "symgrad --help": "<= 0.30", "symgrad --version": "<= 0.30"}
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:<20} {med:9.3f} {med / base:6.2f}  {goals.get(name, 'baseline')}")


if __name__ == "__main__":
    main()
