"""The combination test: every function of the table, alone and composed (inside log, inside a
power, in a sum of 20 terms), through every command and every format.

The expressions come from the function table (``tests/combinations.py``), so a function added
to the table is tested here with no change. Each command reads them as one stream per set of
variables (``symgrad grad -``), in process through CliRunner for text, JSON and LaTeX, and on a
real pseudo-terminal at 40, 80 and 200 columns for the pretty format. Whatever the combination:
an exit code in {0, 1, 2, 3, 4}, never a traceback, no internal name in the output, text and
JSON that re-parse to the same expression, and generated code that compiles and agrees with
``grad --at``.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from functools import cache

import pytest
from typer.testing import CliRunner

from symgrad import gradient, parse
from symgrad.cli.app import app
from tests.combinations import cases, point, uncovered
from tests.terminal import Terminal, plain

runner = CliRunner()

# a command as a user types it; {at}, {first} and {some} are filled for each stream
COMMANDS = {
    "grad": ["grad"],
    "grad --at": ["grad", "--at", "{at}"],
    "grad --cse": ["grad", "--cse"],
    "hessian": ["hessian", "{some}"],
    "jacobian": ["jacobian"],
    "diff": ["diff", "--wrt", "{first}", "--order", "2"],
    "check": ["check", "--points", "5"],
    "codegen": ["codegen"],
    "codegen --target python": ["codegen", "--target", "python"],
}
FORMATS = ("text", "json", "latex")
WIDTHS = (40, 80, 200)
LIMITS = ["--timeout", "120"]  # a loaded CI machine must not turn a slow answer into an error
HESSIAN_VARIABLES = 3  # a Hessian of 20 variables has 210 distinct entries: 3 tell as much

INTERNAL = re.compile(
    r"SoftmaxOutput|Dummy|\b_[a-z]\d|_h0|Matrix\(|DenseMatrix|Derivative\(|Subs\(|"
    r"Piecewise|Traceback|internal error|object at 0x|<function|<class|"
    r"\b[A-Z][a-z]+Error\b|Heaviside\((?:[^()]|\([^()]*\))*,\s*1/2\)|"
    r"\\theta\\left\(|Heaviside\}\\left\((?:(?!\\operatorname).)*?, \\frac\{1\}\{2\}\\right\)"
)
"""What no output may show: sympy's and symgrad's internal classes and names, Python errors,
and the 1/2 argument sympy gives Heaviside (a person typed Heaviside(x))."""


def groups() -> dict[tuple[str, ...], list[str]]:
    """The expressions by their variables: one stream each, so that --at can name them all."""
    found: dict[tuple[str, ...], list[str]] = {}
    for case in cases():
        found.setdefault(case.variables, []).append(case.text)
    return found


def command_line(command: str, variables: tuple[str, ...]) -> list[str]:
    at = ",".join(f"{k}={v}" for k, v in point(variables).items())
    args = []
    for arg in COMMANDS[command]:
        if arg == "{some}":
            if len(variables) > HESSIAN_VARIABLES:
                args += ["--wrt", ",".join(variables[:HESSIAN_VARIABLES])]
            continue
        args.append(arg.format(at=at, first=variables[0]))
    return [args[0], "-", *args[1:]]


@cache
def run(command: str, fmt: str) -> list[tuple[list[str], int, str, str]]:
    """``(inputs, exit code, stdout, stderr)`` of each stream of ``command`` in ``fmt``."""
    outcomes = []
    for variables, texts in groups().items():
        args = [*command_line(command, variables), "--format", fmt, *LIMITS]
        result = runner.invoke(app, args, input="".join(t + "\n" for t in texts))
        outcomes.append((texts, result.exit_code, result.stdout, result.stderr))
    return outcomes


def records(command: str) -> list[tuple[str, dict]]:
    """``(input, record)`` of every JSON record ``command`` wrote, in input order."""
    found = []
    for texts, _, out, _ in run(command, "json"):
        lines = out.splitlines()
        assert len(lines) == len(texts), "one record per input line"
        for text, line in zip(texts, lines):
            record = json.loads(line)
            assert record["input"] == text
            found.append((text, record))
    return found


def test_every_function_of_the_table_is_generated():
    assert uncovered() == []
    assert {case.form for case in cases()} == {"alone", "log", "power", "sum"}


# ---------------------------------------------------------------- text, JSON, LaTeX


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_and_format_answers_every_line(command, fmt):
    for texts, code, out, err in run(command, fmt):
        assert code in (0, 1), err  # a stream: 1 when a line failed or did not pass
        assert not INTERNAL.search(out), INTERNAL.search(out)
        assert not INTERNAL.search(err), INTERNAL.search(err)
        if command.startswith("codegen") and fmt == "latex":
            # code has no LaTeX form: each line says so, in one line
            assert err.count("codegen writes Python") == len(texts)
            continue
        if fmt == "json":
            kinds = [json.loads(line).get("error", {}).get("kind") for line in out.splitlines()]
            assert kinds == [None] * len(texts), err
        else:
            assert err == ""
            if command.startswith("codegen"):
                assert out.count('"""Value and gradient of') == len(texts)
            else:  # one record per line, each ending with a blank line
                assert out.count("\n\n") == len(texts)
        if command != "check":
            assert code == 0


@pytest.mark.parametrize("command", [c for c in COMMANDS if not c.startswith("codegen")])
def test_json_reparses_to_the_same_expressions(command):
    for text, record in records(command):
        assert parse(record["expression"]) == parse(text)
        for expression in _expressions(record):
            assert parse(expression) is not None


@pytest.mark.parametrize("command", [c for c in COMMANDS if not c.startswith("codegen")])
def test_text_reparses_to_what_json_says(command):
    """Each ``name = expression`` line of the text output is the JSON's entry, re-parsed."""
    for (_, record), text in zip(records(command), _text_records(command)):
        shown = [parse(e) for e in _equations(text)]
        assert shown == [parse(e) for e in [record["expression"], *_expressions(record)]]


def test_gradients_reparse_to_the_library_result():
    for text, record in records("grad"):
        partials = gradient(parse(text)).partials
        assert [parse(p) for p in record["gradient"]] == list(partials), text


def _expressions(record: dict) -> list[str]:
    """The expression strings of a record past its ``expression``, in the text output's order
    (a Hessian lists each distinct entry once)."""
    found = [e for _, e in record.get("cse", [])]
    found += record.get("gradient", [])
    hessian = record.get("hessian", [])
    found += [row[j] for i, row in enumerate(hessian) for j in range(i, len(row))]
    found += [e for row in record.get("jacobian", []) for e in row]
    if "derivative" in record:
        found.append(record["derivative"])
    return found


def _text_records(command: str) -> list[str]:
    found = []
    for _, _, out, _ in run(command, "text"):
        found += out.split("\n\n")[:-1]
    return found


_EQUATION = re.compile(r"^(?:f\d*|t\d+|d\d*f\d*/\S+) = (.+)$")


def _equations(record: str) -> list[str]:
    """The expressions of a text record's ``f = ...``, ``t0 = ...`` and ``df/dx = ...`` lines
    (values at a point are indented)."""
    return [m.group(1) for line in record.splitlines() if (m := _EQUATION.match(line))]


# ---------------------------------------------------------------- generated code


def _generated(target_command: str) -> dict[str, dict]:
    return {text: record for text, record in records(target_command)}


@pytest.mark.parametrize("command", ["codegen", "codegen --target python"])
def test_generated_code_compiles_and_agrees_with_grad_at(command):
    code_of = _generated(command)
    compared = 0
    for text, at_record in records("grad --at"):
        record = code_of[text]
        namespace: dict = {}
        exec(compile(record["code"], "<generated>", "exec"), namespace)  # our own output
        f = namespace["f"]
        want = [at_record["value"], *at_record["gradient_value"]]
        if any(v is None for v in want):
            continue  # not defined at the point: nothing to agree with
        value, grad = f(**point(tuple(record["wrt"])))
        got = [float(value), *(float(g) for g in grad)]
        assert record["wrt"] == at_record["wrt"]
        for a, b in zip(got, want):
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (text, got, want)
        compared += 1
    assert compared >= 0.8 * len(code_of)


# ---------------------------------------------------------------- pretty, on a terminal

MARK = "@@symgrad-combinations@@"

# One process on a pseudo-terminal runs every command at every width, as a person at a
# terminal would one after another; the terminal is resized (TIOCSWINSZ) before each run.
DRIVER = f"""
import fcntl, io, json, struct, sys, termios
from symgrad.cli.app import app

for width, args, data in json.load(open(sys.argv[1])):
    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
    sys.stdin = io.TextIOWrapper(io.BytesIO(data.encode()))
    code = app(args, standalone_mode=False)
    sys.stdout.flush()
    print("{MARK}", width, code, flush=True)
"""


def _terminal_jobs() -> tuple[list, list]:
    jobs, keys = [], []
    for width in WIDTHS:
        for command in COMMANDS:
            for variables, texts in groups().items():
                args = [*command_line(command, variables), *LIMITS]
                jobs.append((width, args, "".join(t + "\n" for t in texts)))
                keys.append((command, width, texts))
    return jobs, keys


@pytest.fixture(scope="module", autouse=True)
def started_terminal():
    """The terminal's process, started with the module's first test: it runs on a second core
    while the in-process tests run."""
    jobs, keys = _terminal_jobs()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(jobs, handle)
    process = Terminal([sys.executable, "-c", DRIVER, handle.name], width=80)
    yield process, keys
    if process.proc.poll() is None:
        process.proc.kill()
        process.output()
    os.unlink(handle.name)


@pytest.fixture(scope="module")
def terminal(started_terminal):
    """The pretty output of every command, stream and width: ``{(command, width): [(inputs,
    exit code, output)]}``."""
    process, keys = started_terminal
    output = plain(process.output())
    chunks = output.split(MARK)
    assert len(chunks) == len(keys) + 1, output[-2000:]
    found: dict = {}
    for k, (command, width, texts) in enumerate(keys):
        text = chunks[k] if k == 0 else chunks[k].split("\n", 1)[1]
        code = int(chunks[k + 1].split("\n", 1)[0].split()[1])
        found.setdefault((command, width), []).append((texts, code, text))
    return found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", COMMANDS)
def test_pretty_on_a_terminal_answers_every_line(terminal, command, width):
    for texts, code, out in terminal[(command, width)]:
        assert code in (0, 1), out[-500:]
        assert not INTERNAL.search(out), INTERNAL.search(out)
        assert "\x1b" not in out  # only styles, which are stripped above
        assert "θ(" not in out  # sympy's picture of Heaviside
        if command.startswith("check"):
            assert out.count("check: ") == len(texts)
        elif command.startswith("codegen"):
            assert out.count('"""Return (value, gradient') == len(texts)
        else:
            assert out.count("parsed as  f") == len(texts)
        assert not re.search(r"^symgrad: ", out, re.M), out[-2000:]
