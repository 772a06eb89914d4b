"""Gradient of a big loss: symgrad end to end against SymPy and symengine, in the same run.

    python bench/big_loss.py [--sizes 8,16,32] [--sympy-max 8] [--runs 1]

For each width n, the squared-error loss of a tiny tanh network (bench/mlp.py; n^2 + 2n
parameters) is written to a file, and each contender runs as its own process, timed from
outside (interpreter start included):

- sympy:     sympify, one diff per parameter (n <= --sympy-max: 6.7 s at n = 8 and 142 s
             at n = 16 on the issue's machine); printing them would take longer still
- symengine: sympify, one diff per parameter, cse, print
- symgrad:   symgrad grad --file loss.txt --wrt <params> --cse --format json (or the same
             library calls in a script, while this symgrad has no --file)

Gradients are compared at a random point (relative difference), operation counts of the
loss and of symgrad's loss-and-gradient are printed, and the generated numpy code is
timed for value+gradient against value alone. Goals (issue 6): at n = 32 symgrad <= 0.5x
symengine with values agreeing to 1e-9; at n = 8 symgrad >= 10x faster than sympy; ops
ratio <= 3; generated code <= 4x the value alone.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mlp  # noqa: E402

# Each baseline script: argv = loss file, params file, output file. It writes the gradient
# at the point in params file (after its timed work is printed) so values can be compared.
SYMPY_SCRIPT = """
import json, sys, time
import sympy
text = open(sys.argv[1]).read().replace("^", "**")
spec = json.load(open(sys.argv[2]))
loss = sympy.sympify(text)
params = [sympy.Symbol(p) for p in spec["params"]]
grads = [sympy.diff(loss, p) for p in params]
done = time.time()  # as in the issue: sympify and per-parameter diff, no printing
point = {p: spec["point"][p.name] for p in params}
values = [float(g.xreplace(point)) for g in grads]
json.dump({"values": values, "done": done}, open(sys.argv[3], "w"))
"""

SYMENGINE_SCRIPT = """
import json, sys, time
import symengine
text = open(sys.argv[1]).read().replace("^", "**")
spec = json.load(open(sys.argv[2]))
loss = symengine.sympify(text)
params = [symengine.Symbol(p) for p in spec["params"]]
grads = [loss.diff(p) for p in params]
replacements, reduced = symengine.cse(grads)
lines = [f"{name} = {expr}" for name, expr in replacements] + [str(g) for g in reduced]
sys.stdout.write("\\n".join(lines))
sys.stdout.flush()
done = time.time()  # the work ends here; checking values below is not timed
env = {p: spec["point"][p.name] for p in params}
for name, expr in replacements:  # evaluate the cse'd form: Lambdify on the raw gradients is slow
    env[name] = float(expr.xreplace(env))
values = [float(g.xreplace(env)) for g in reduced]
ops = symengine.count_ops(*[e for _, e in replacements], *reduced)
out = {"values": [float(v) for v in values], "ops": int(ops), "done": done}
json.dump(out, open(sys.argv[3], "w"))
"""

# symgrad through its library, for a symgrad without --file: the same calls as the CLI
SYMGRAD_SCRIPT = """
import json, sys
from symgrad.derive.partial import gradient
from symgrad.parsing.plain import parse
from symgrad.printing import render
text = open(sys.argv[1]).read()
result = gradient(parse(text, max_chars=len(text)), sys.argv[2], cse=True)
sys.stdout.write(json.dumps(render(result, "json", None), ensure_ascii=False) + "\\n")
"""


def symgrad_has_file_option() -> bool:
    proc = subprocess.run(
        [*symgrad_command(), "grad", "--help"], capture_output=True, text=True, check=False
    )
    return "--file" in proc.stdout


def symgrad_command() -> list[str]:
    exe = shutil.which("symgrad")
    return [exe] if exe else [sys.executable, "-m", "symgrad"]


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd[:3])} ...\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def run_script(script: str, loss: Path, spec: Path, out: Path, runs: int) -> tuple[float, dict]:
    """Median wall time of a baseline script, from launch to the end of its timed work."""
    samples = []
    for _ in range(runs):
        start = time.time()  # wall clock, compared with the script's own
        timed([sys.executable, "-c", script, str(loss), str(spec), str(out)])
        result = json.loads(out.read_text())
        samples.append(result["done"] - start)
    return statistics.median(samples), result


def gradient_values(record: dict, point: dict) -> list[float]:
    """Evaluate symgrad's JSON answer (definitions, then gradient entries) at ``point``."""
    from symgrad.functions import symbol
    from symgrad.notation import linear_text
    from symgrad.numeric.compile import spellings
    from symgrad.parsing.plain import parse

    names = dict(spellings("python").names)
    env: dict = {"math": math, "abs": abs, "max": max, "min": min}
    env.update({symbol(k).name: v for k, v in point.items()})
    for name, text in record.get("cse", []):
        env[name] = eval(linear_text(parse(text), names), env)  # our own output
    return [eval(linear_text(parse(g), names), env) for g in record["gradient"]]


def relative_difference(a: list[float], b: list[float]) -> float:
    scale = max(max(abs(x) for x in b), 1e-300)
    return max(abs(x - y) for x, y in zip(a, b)) / scale


def codegen_timing(loss_text: str, params: list[str], batch: int = 256, repeats: int = 5):
    """Seconds for value+gradient and for value alone (both generated numpy code)."""
    import numpy as np

    from symgrad.notation import linear_text
    from symgrad.numeric.code import codegen
    from symgrad.numeric.compile import helper_source, identifiers, spellings
    from symgrad.parsing.plain import parse

    loss = parse(loss_text, max_chars=len(loss_text))
    code = codegen(loss, ",".join(params), target="numpy")
    renames = identifiers(code.arguments)
    names = {**spellings("numpy").names, **renames}
    args = [renames[v.name] for v in code.arguments]
    helpers = "\n\n".join(helper_source(spellings("numpy").helpers, "numpy"))
    value_source = (
        f"import numpy\n\n{helpers}\n\ndef value_only({', '.join(args)}):\n"
        f"    return {linear_text(loss, names)}\n"
    )
    space: dict = {}
    exec(code.source, space)  # our own generated code
    exec(value_source, space)
    rng = np.random.default_rng(0)
    inputs = {a: rng.uniform(-1, 1, batch) for a in args}

    def best(f) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            f(**inputs)
            times.append(time.perf_counter() - start)
        return min(times)

    return best(space["f"]), best(space["value_only"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="8,16,32")
    parser.add_argument("--sympy-max", type=int, default=8)
    parser.add_argument("--runs", type=int, default=1, help="median of this many runs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    use_file = symgrad_has_file_option()
    from symgrad.derive.reverse import count_ops, reverse_gradient
    from symgrad.functions import symbol
    from symgrad.parsing.plain import parse

    print(f"symgrad end to end via {'symgrad grad --file' if use_file else 'library script'}")
    header = (
        f"{'n':>3} {'params':>6} {'kB':>5} {'sympy s':>8} {'symengine s':>11} {'symgrad s':>9} "
        f"{'vs sympy':>8} {'vs symengine':>12} {'rel diff':>9} {'ops loss':>8} "
        f"{'ops grad':>8} {'ratio':>5} {'se ops':>7} {'code x':>6}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            params = mlp.params(n)
            text = mlp.loss(n)
            loss_path = Path(tmp, f"loss{n}.txt")
            loss_path.write_text(text)
            rng = random.Random(n)
            point = {p: rng.uniform(-1, 1) for p in params}
            spec_path = Path(tmp, f"spec{n}.json")
            spec_path.write_text(json.dumps({"params": params, "point": point}))
            wrt = ",".join(params)

            sympy_time = sympy_values = None
            if n <= args.sympy_max:
                sympy_time, sympy_out = run_script(
                    SYMPY_SCRIPT, loss_path, spec_path, Path(tmp, f"sympy{n}.json"), args.runs
                )
                sympy_values = sympy_out["values"]
            se_time, se_out = run_script(
                SYMENGINE_SCRIPT, loss_path, spec_path, Path(tmp, f"se{n}.json"), args.runs
            )

            if use_file:
                cmd = [*symgrad_command(), "grad", "--file", str(loss_path), "--wrt", wrt]
                cmd += ["--cse", "--format", "json"]
            else:
                cmd = [sys.executable, "-c", SYMGRAD_SCRIPT, str(loss_path), wrt]
            samples, stdout = [], ""
            for _ in range(args.runs):
                elapsed, stdout = timed(cmd)
                samples.append(elapsed)
            sg_time = statistics.median(samples)
            record = json.loads(stdout.splitlines()[-1])
            sg_values = gradient_values(record, point)
            diff = relative_difference(sg_values, se_out["values"])
            if sympy_values is not None:
                diff = max(diff, relative_difference(sg_values, sympy_values))

            loss = parse(text, max_chars=len(text))
            sweep = reverse_gradient(loss, [symbol(p) for p in params])
            ops_loss = count_ops([loss])
            ops_all = count_ops([sweep.value, *(d for _, d in sweep.definitions), *sweep.gradient])
            both, alone = codegen_timing(text, params)

            vs_sympy = f"{sympy_time / sg_time:7.1f}x" if sympy_time else "       -"
            print(
                f"{n:>3} {len(params):>6} {len(text) / 1000:>5.0f} "
                f"{sympy_time if sympy_time else float('nan'):>8.2f} {se_time:>11.2f} "
                f"{sg_time:>9.2f} {vs_sympy:>8} {sg_time / se_time:>11.2f}x {diff:>9.1e} "
                f"{ops_loss:>8} {ops_all:>8} {ops_all / ops_loss:>5.2f} {se_out['ops']:>7} "
                f"{both / alone:>6.2f}",
                flush=True,
            )
    print(
        "vs sympy: how many times faster symgrad is; vs symengine: symgrad time / symengine "
        "time;\nrel diff: largest gradient difference / largest gradient; ops: arithmetic "
        "operations and calls,\neach distinct node once (loss alone, symgrad's CSE'd "
        "loss-and-gradient, symengine's cse);\ncode x: generated numpy value+gradient time / "
        "value-alone time (batch of 256 points)."
    )


if __name__ == "__main__":
    main()
