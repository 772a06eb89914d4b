"""Every case reported under issue 10 ("Why"), through the real command line: the commands as a
new user typed them, on a terminal, in a pipe, with stdout closed or full, with absurd option
values, and streams whose workers die or whose producer is slow."""

from __future__ import annotations

import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from symgrad import parse
from symgrad.cli.app import app
from tests.terminal import ROOT, plain, run_on_terminal

runner = CliRunner()


def invoke(*args, input=None):
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def symgrad(*args, input=None, **options):
    """``symgrad ARGS`` as a real process: its exit code, stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "symgrad", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        **options,
    )
    return proc.returncode, proc.stdout, proc.stderr


def one_error_line(err: str, words: str) -> None:
    assert len(err.splitlines()) == 1 and words in err, err
    assert "Traceback" not in err and "internal error" not in err


# ---------------------------------------------------------------- the pretty output


TANH_NET = "(y - tanh(v1*tanh(w1*x + b1) + v2*tanh(w2*x + b2) + c))^2"


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "(y - sigmoid(w*x+b))^2"],  # the ∇f column is wider than the terminal
        ["check", TANH_NET, "--points", "10"],
        ["hessian", "-log(softmax(w*x, b)[0])"],
    ],
)
def test_the_losses_of_the_notes_on_an_80_column_terminal(args):
    code, out = run_on_terminal(args, width=80)
    assert code == 0, out
    out = plain(out)
    assert "parsed as  f" in out and "internal error" not in out and "Traceback" not in out


def test_format_pretty_in_a_pipe():
    code, out, err = invoke("grad", "(y - sigmoid(w*x+b))^2", "--format", "pretty")
    assert code == 0 and err == ""
    assert "∂f/∂w" in out and "\x1b[" not in out  # no terminal: no styles


# ---------------------------------------------------------------- softmax


@pytest.mark.parametrize(
    "args",
    [
        ["codegen", "softmax(a, b)[0]"],
        ["grad", "-log(softmax(w*x, b)[0])", "--wrt", "w", "--cse"],
        ["grad", f"softmax({', '.join(f'a{k}' for k in range(150))})[0]", "--wrt", "a0,a1"],
    ],
)
def test_softmax_outputs_through_codegen_and_cse(args):
    code, out, err = invoke(*args, "--format", "json")
    assert code == 0 and err == "", err
    assert "SoftmaxOutput" not in out and "_a0" not in out


@pytest.mark.parametrize(
    "args",
    [
        ["diff", "softmax(a, a^2)[0]", "--wrt", "a", "--order", "3"],
        ["hessian", "-log(softmax(w*x + b, w^2, sin(b))[1])"],
    ],
)
def test_larger_softmax_results_print_and_reparse(args):
    code, out, err = invoke(*args, "--format", "json")
    assert code == 0 and err == ""
    assert "SoftmaxOutput" not in out
    record = json.loads(out)
    for entry in [record.get("derivative")] + [e for row in record.get("hessian", []) for e in row]:
        if entry is not None:
            parse(entry)


# ---------------------------------------------------------------- what the CLI promises


def test_check_hint_reaches_the_command_line():
    code, out, err = invoke("check", "w^2*x", "--wrt", "w", "--claim", "2*w", "--format", "json")
    assert code == 1 and err == ""
    assert json.loads(out)["claims"][0]["hint"] == "missing factor x"


def test_max_order_is_enforced_and_named():
    code, out, err = invoke("diff", "x^2", "--order", "1000")
    assert code == 3 and out == ""
    one_error_line(err, "--max-order")


@pytest.mark.parametrize(
    "args, key",
    [
        (["hessian", "x^3*y", "--at", "x=1,y=2"], "hessian_value"),
        (["jacobian", "[x*y, sin(x)]", "--at", "x=0,y=2"], "jacobian_value"),
        (["diff", "exp(-x^2)", "--order", "3", "--at", "x=0.5"], "derivative_value"),
        (["hessian", "tanh(w*x + b)^2", "--cse"], "cse"),
        (["jacobian", "[tanh(x*y), tanh(x*y)^2]", "--cse"], "cse"),
    ],
)
def test_every_command_takes_at_and_cse_where_they_apply(args, key):
    code, out, err = invoke(*args, "--format", "json")
    assert code == 0 and err == ""
    assert key in json.loads(out)


# ---------------------------------------------------------------- no traceback, no exit 70


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["grad", "x^2", "--timeout", "inf"], 2, "--timeout"),
        (["grad", "x^2", "--timeout", "nan"], 2, "--timeout"),
        (["check", "x^2", "--seed", "-1"], 2, "--seed"),
        (["diff", "x", "--order", "10^20"], 2, "--order"),
        (["diff", "x", "--order", "100000000000000000000"], 3, "--max-order"),
        (["grad", "x^2", "--at", "x=2^1100"], 2, "beyond the range of a double"),
        (["grad", "x^2", "--at", "x=-10^400"], 2, "beyond the range of a double"),
        (["codegen", "x*sin(10^3000)"], 2, "beyond the range of a double"),
        (["codegen", "a⑴*x"], 2, "parse error at column 2: unexpected character '⑴'"),
        (["codegen", "a🄁b*x", "--target", "python"], 2, "parse error at column 2"),
        (["grad", "①x"], 2, "parse error at column 1"),
        (["grad", "$a⑴ x$"], 2, "parse error at column 3"),
    ],
)
def test_absurd_values_are_one_line_and_an_exit_code(args, code, words):
    exit_code, out, err = invoke(*args)
    assert exit_code == code and out == ""
    one_error_line(err, words)


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "x*sin(10^3000)", "--at", "x=1"],
        ["check", "x*sin(10^3000)", "--at", "x=1"],
        ["hessian", "x^2*sin(10^3000)", "--at", "x=1"],
        ["grad", "x*10^400", "--at", "x=1"],
    ],
)
def test_a_huge_number_at_a_point_is_exit_4_with_a_note(args):
    code, out, err = invoke(*args, "--format", "json")
    assert code == 4 and err == ""
    notes = json.loads(out)["notes"]
    assert notes and "Infinity" not in out and "NaN" not in out


def test_a_huge_number_at_a_point_says_why():
    code, out, _ = invoke("grad", "x*sin(10^3000)", "--at", "x=1", "--format", "json")
    assert "a number of 3,001 digits is beyond the range of a double" in json.loads(out)["notes"][0]


NUMPY_NAMES = ["maximum", "reduce", "logaddexp", "numpy", "math", "value", "gradient", "exp"]


@pytest.mark.parametrize("name", NUMPY_NAMES)
def test_variables_named_like_what_generated_code_uses(name):
    expr = f"{name}^2*sin(x) + sigmoid({name}) + max({name}, x) + relu(x*{name})"
    at = f"{name}=0.5,x=1.5"
    if name in ("exp", "maximum"):  # functions (numpy's maximum is max): not variable names
        assert invoke("grad", expr)[0] == 2
        return
    code, out, err = invoke("grad", expr, "--at", at, "--format", "json")
    assert code == 0 and err == "", err
    want = json.loads(out)
    code, out, err = invoke("check", expr, "--format", "json", "--points", "20")
    assert code == 0 and err == "" and json.loads(out)["status"] == "pass"
    values = {name: 0.5, "x": 1.5}
    for target in ("numpy", "python"):
        code, out, err = invoke("codegen", expr, "--target", target, "--format", "json")
        assert code == 0 and err == ""
        record = json.loads(out)
        namespace: dict = {}
        exec(compile(record["code"], "<generated>", "exec"), namespace)  # our own output
        # the parameters are the variables in order, renamed where Python needs it
        value, grad = namespace["f"](*[values[v] for v in record["wrt"]])
        assert math.isclose(value, want["value"], rel_tol=1e-12)
        assert [float(g) for g in grad] == pytest.approx(want["gradient_value"], rel=1e-12)


def test_codegen_of_lambda_and_lambda_():
    code, out, err = invoke("codegen", "lambda*lambda_ + lambda^2", "--target", "python")
    assert code == 0 and err == ""
    namespace: dict = {}
    exec(compile(out, "<generated>", "exec"), namespace)  # our own output
    assert "def f(lambda__, lambda_):" in out
    assert "lambda__ is lambda" in out  # the docstring names the rename
    value, grad = namespace["f"](lambda__=2.0, lambda_=3.0)
    assert value == 10.0 and grad == (7.0, 2.0)


# ---------------------------------------------------------------- where the output goes


@pytest.mark.parametrize(
    "args", [["grad", "x^2"], ["grad", "-"], ["grad", "-", "--jobs", "2"], ["--help"]]
)
def test_stdout_closed_is_an_output_error(args):
    proc = subprocess.run(
        ["sh", "-c", 'exec "$0" -m symgrad "$@" >&-', sys.executable, *args],
        input="x^2\n",
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    one_error_line(proc.stderr, "output error")


@pytest.mark.parametrize(
    "args",
    [
        ["grad", "x^2"],
        ["grad", "-", "--format", "json"],
        ["grad", "-", "--jobs", "2"],
        ["--help"],
        ["--version"],
        ["functions"],
    ],
)
def test_a_full_disk_is_an_output_error(args):
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "symgrad", *args],
            input="x^2\nsin(x)\n",
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    assert proc.returncode == 2
    one_error_line(proc.stderr, "output error: cannot write the output: No space left")


@pytest.mark.parametrize("megabytes", ["1", "30"])
def test_a_memory_ceiling_below_what_symgrad_uses_is_refused_naming_the_minimum(megabytes):
    code, out, err = symgrad("grad", "sin(x)*y", "--max-memory", megabytes)
    assert code == 2 and out == ""
    one_error_line(err, f"--max-memory {megabytes} is below the ")
    minimum = int(err.split("give at least --max-memory ")[1].split(",")[0])
    code, out, err = symgrad("grad", "sin(x)*y", "--max-memory", str(minimum + 64))
    assert code == 0 and "df/dx = y*cos(x)" in out


# ---------------------------------------------------------------- --jobs


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def _workers(pid: int) -> list[int]:
    """The --jobs workers of the program started as ``pid``: the children of its working
    process (the program forks a watchdog parent first), not multiprocessing's helpers."""
    found = []
    for child in _children(pid):
        for worker in _children(child):
            try:
                command = Path(f"/proc/{worker}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in command:
                found.append(worker)
    return found


def json_stream(jobs: str, **options) -> subprocess.Popen:
    """``symgrad grad - --jobs JOBS --format json`` as a process with a pipe at each end."""
    return subprocess.Popen(
        [sys.executable, "-m", "symgrad", "grad", "-", "--jobs", jobs, "--format", "json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        **options,
    )


def test_jobs_survives_killed_workers_and_answers_every_line_once():
    lines = [f"sin({k}*x)*y^2 + log(1 + x^{k % 7 + 1})" for k in range(1, 601)]
    proc = json_stream("2", stderr=subprocess.PIPE)
    proc.stdin.write("".join(line + "\n" for line in lines))
    proc.stdin.close()
    records = []
    for k, line in enumerate(proc.stdout):
        records.append(json.loads(line))
        if k in (50, 300):
            for pid in _workers(proc.pid)[: 1 + (k == 300)]:
                os.kill(pid, signal.SIGKILL)  # one worker, then both
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1))
    assert all("gradient" in r or r["error"]["kind"] == "limit" for r in records)


def test_jobs_answers_a_slow_producer_line_by_line_even_when_its_workers_die():
    proc = json_stream("2", bufsize=1)

    def ask(k: int) -> dict:
        proc.stdin.write(f"x^{k}*y\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, f"line {k} was not answered before the next was written"
        return json.loads(proc.stdout.readline())

    try:
        assert ask(1)["gradient"] == ["y", "x"]
        assert ask(2)["line"] == 2
        for pid in _workers(proc.pid):
            os.kill(pid, signal.SIGKILL)  # while the reader waits for line 3
        time.sleep(0.2)
        assert ask(3)["gradient"] == ["3*x**2*y", "x**3"]
        assert ask(4)["line"] == 4
        proc.stdin.close()
        assert proc.stdout.read() == "" and proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_jobs_workers_end_when_the_program_is_killed():
    """The working process killed outright (by the watchdog, or a user's kill -9): its workers
    end too, so a reader of the stream sees its end instead of waiting for ever."""
    proc = json_stream("2", bufsize=1)
    try:
        proc.stdin.write("x^2*y\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["gradient"] == ["2*x*y", "x**2"]
        (working,) = _children(proc.pid)
        workers = _workers(proc.pid)
        assert len(workers) == 2
        os.kill(working, signal.SIGKILL)
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready and proc.stdout.read() == ""  # the end of the stream, not a hang
        time.sleep(1.5)
        assert not [w for w in workers if Path(f"/proc/{w}").exists() and _alive(w)]
    finally:
        proc.kill()
        proc.wait()


def test_jobs_starts_at_most_four_processes_per_cpu():
    """--jobs 100000 started workers until the machine ran out of memory (the kernel then
    killed other programs); the work is CPU-bound, so more than 4 per CPU only costs memory."""
    from symgrad.cli.loop import MAX_JOBS_PER_CPU

    proc = json_stream("100000", bufsize=1)
    try:
        lines = [f"x^{k}*y" for k in range(2, 42)]
        proc.stdin.write("\n".join(lines) + "\n")
        proc.stdin.flush()
        records = [json.loads(proc.stdout.readline()) for _ in lines]
        assert [r["line"] for r in records] == list(range(1, len(lines) + 1))
        assert 1 <= len(_workers(proc.pid)) <= MAX_JOBS_PER_CPU * (os.cpu_count() or 1)
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_a_sine_of_a_whole_number_no_double_holds_is_not_given_a_value():
    """sin(10^30*x) at x=1 depends on every digit of 10^30; floats keep 16 (they gave 0.0093,
    the true value is -0.0901). 2^60 is a double exactly: its value is given, and right."""
    code, out, err = invoke("grad", "sin(10^30*x)", "--at", "x=1", "--format", "json")
    record = json.loads(out)
    assert code == 4 and err == "" and record["value"] is None
    assert "not exactly a double" in record["notes"][0]
    code, out, _ = invoke("grad", "sin(2^60*x)", "--at", "x=1", "--format", "json")
    assert code == 0 and math.isclose(json.loads(out)["value"], -0.8306492176372546, rel_tol=1e-9)


# ---------------------------------------------------------------- found by a new user's walk


def test_a_mistyped_command_gets_one_suggestion():
    code, out, err = symgrad("gard", "x")
    assert code == 2 and err.count("Did you mean 'grad'?") == 1


def test_descend_names_its_own_option_for_a_missing_start():
    code, out, err = invoke("descend", "x^2 + y^2", "--from", "x=1")
    assert code == 2 and "no value for y in --from" in err and "--from x=1,y=1" in err
    assert "--at" not in err


@pytest.mark.parametrize("value", ["1e400", "10^400", "-1e400", "2^1100"])
def test_a_value_past_a_double_is_refused_the_same_way_however_it_is_written(value):
    code, out, err = invoke("grad", "x^2", "--at", f"x={value}")
    assert code == 2 and "value of x in --at" in err and "beyond the range of a double" in err


@pytest.mark.parametrize("value", ["abc", "nan", "y"])
def test_a_value_that_is_a_name_says_which_value_of_which_option(value):
    code, out, err = invoke("grad", "x^2", "--at", f"x={value}")
    assert code == 2 and f"the value of x in --at: '{value}' is not a number" in err


@pytest.mark.parametrize("value", ["abc", 10**400, float("nan"), float("inf"), None, [1]])
def test_a_library_point_with_a_bad_value_is_an_input_error(value):
    from symgrad import gradient
    from symgrad.errors import InputError

    with pytest.raises(InputError, match="value of x"):
        gradient("x^2").at(x=value)


@pytest.mark.parametrize(
    "args, words",
    [
        (["check", "x*y", "--wrt", "x", "--claim", "y", "--claim", "x"], "2 claims for 1 variable"),
        (["check", "x*y", "--claim", "y"], "1 claim for 2 variables"),
        (["grad", "softmax(a)[1]"], "softmax of one input has one output, [0]"),
    ],
)
def test_counts_in_messages_are_in_good_english(args, words):
    code, out, err = invoke(*args)
    assert code == 2 and words in err


@pytest.mark.parametrize("length", [200_000, 500_000])
def test_a_line_past_the_length_limit_is_quoted_by_its_start_and_names_the_option(length):
    code, out, err = invoke("grad", "-", "--format", "json", input="x" * length + "\nx^2\n")
    first, second = (json.loads(line) for line in out.splitlines())
    assert code == 1 and first["error"]["kind"] == "limit"
    assert first["input"] == "x" * 100 + "..."
    message = first["error"]["message"]
    assert "--max-chars" in message and "max_chars" not in message and f"{length:,}" in message
    assert second["gradient"] == ["2*x"]


def test_a_claim_pasted_as_latex_is_read_as_latex():
    code, out, err = invoke(
        "check", r"\sigma(wx+b)", "--wrt", "w", "--claim", r"$\sigma(wx+b)(1-\sigma(wx+b))$"
    )
    assert code == 1 and "missing factor x" in out
    code, out, err = invoke("check", r"\sigma(wx+b)", "--wrt", "w",
                            "--claim", r"\sigma(wx+b)(1-\sigma(wx+b))x")  # fmt: skip
    assert code == 0 and "right, proved" in out
