"""The command line through typer's CliRunner: exit code, stdout and stderr separately."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from symgrad import parse
from symgrad.cli.app import app

runner = CliRunner()


def invoke(*args, input=None):
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_grad_json_is_the_contract():
    code, out, err = invoke("grad", "y*log(w*x+b)", "--wrt", "w,b", "--format", "json")
    assert code == 0 and err == ""
    record = json.loads(out)
    assert list(record) == ["input", "expression", "wrt", "gradient"]
    assert record["input"] == "y*log(w*x+b)"
    assert record["wrt"] == ["w", "b"]
    assert record["gradient"] == ["x*y/(b + w*x)", "y/(b + w*x)"]
    assert parse(record["expression"]) == parse("y*log(w*x+b)")


def test_grad_text_is_ascii_one_partial_per_line_and_reparses():
    code, out, err = invoke("grad", "sigmoid(w*x+b)", "--wrt", "w,b", "--format", "text")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "f = sigmoid(b + w*x)"
    assert lines[1:] == [
        "df/dw = x*sigmoid(b + w*x)*(1 - sigmoid(b + w*x))",
        "df/db = sigmoid(b + w*x)*(1 - sigmoid(b + w*x))",
    ]
    assert out.isascii()
    for line in lines:
        parse(line.split(" = ", 1)[1])


def test_auto_format_is_text_when_not_a_terminal():
    code, out, _ = invoke("grad", "x^2")
    assert code == 0 and out == "f = x**2\ndf/dx = 2*x\n"


def test_pretty_shows_parsed_as_partials_and_gradient():
    code, out, _ = invoke("grad", "x/(1+y)", "--format", "pretty")
    assert code == 0
    assert "parsed as" in out and "∂f/∂x" in out and "∂f/∂y" in out and "∇f(x, y)" in out
    assert "───" in out  # a 2-D fraction


def test_latex_output():
    code, out, _ = invoke("grad", "y*log(w*x+b)", "-w", "w", "-f", "latex")
    assert code == 0
    assert r"\frac{\partial f}{\partial w} = \frac{x y}{b + w x}" in out


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["grad", "x +* 2"], 2, "parse error at column 4"),
        (["grad", "__import__('os').system('echo hacked')"], 2, "parse error"),
        (["grad", "x*y", "--wrt", "pi"], 2, "'pi' is a constant here"),
        (["grad", "10^10^10"], 3, "limit error"),
        (["grad", "x", "--format", "yaml"], 2, "usage error"),
        (["grad"], 2, "usage error: Missing argument 'EXPR'"),
        (["gard", "x"], 2, "usage error: No such command 'gard'"),
    ],
)
def test_bad_input_is_one_stderr_line_and_an_exit_code(args, code, words):
    exit_code, out, err = invoke(*args)
    assert exit_code == code
    assert out == ""
    assert len(err.splitlines()) == 1 and words in err
    assert "Traceback" not in err


def test_stdin_stream_answers_each_line_and_survives_bad_ones():
    code, out, err = invoke("grad", "-", "--format", "json", input="x^2\n\n# note\nx +\nsin(y)\n")
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["input"] for r in records] == ["x^2", "x +", "sin(y)"]
    assert records[1]["error"]["kind"] == "parse" and records[1]["error"]["column"] == 4
    assert records[2]["gradient"] == ["cos(y)"]
    assert err == ""


def test_version_and_help():
    code, out, _ = invoke("--version")
    assert code == 0 and out.startswith("symgrad ")
    code, out, _ = invoke("grad", "--help")
    assert code == 0 and "Examples:" in out and "--wrt" in out


def test_functions_lists_the_table():
    from symgrad.functions import FUNCTIONS

    code, out, _ = invoke("functions", "--format", "json")
    assert code == 0
    names = [json.loads(line)["name"] for line in out.splitlines()]
    assert names == [spec.name for spec in FUNCTIONS]


def _run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "symgrad", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_piped_output_has_no_ansi_bytes():
    proc = _run("grad", "sigmoid(w*x+b)/(1+x^2)")
    assert proc.returncode == 0 and "\x1b[" not in proc.stdout and proc.stdout.isascii()


def test_help_does_not_import_sympy_numpy_or_rich():
    code = (
        "import sys\n"
        "from symgrad.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('sympy', 'numpy', 'rich') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_injection_runs_nothing(tmp_path):
    sentinel = tmp_path / "pwned"
    proc = _run("grad", f"__import__('os').system('touch {sentinel}')")
    assert proc.returncode == 2 and not sentinel.exists()
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


def _run_in_terminal(args, env):
    """Run symgrad with stdout on a pseudo-terminal, as a person at a terminal would."""
    import pty

    leader, follower = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "symgrad", *args],
        stdout=follower,
        stderr=follower,
        env={**base, "TERM": "xterm-256color", "COLUMNS": "80", **env},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the pty closes when the child exits
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return proc.returncode, b"".join(chunks).decode()


def test_terminal_gets_pretty_output_and_no_color_is_honoured():
    code, out = _run_in_terminal(["grad", "x/(1+y)"], {})
    assert code == 0 and "∂f/∂x" in out and "───" in out
    assert "\x1b[" in out  # styled: the "parsed as" line is dim
    code, out = _run_in_terminal(["grad", "x/(1+y)"], {"NO_COLOR": "1"})
    assert code == 0 and "∂f/∂x" in out
    assert "\x1b[" not in out


@pytest.mark.parametrize(
    "args, expression",
    [
        (["grad", "-x^2"], "-x**2"),
        (["grad", "-y*log(p) - (1-y)*log(1-p)", "--wrt", "p"], "-y*log(p) - log(1 - p)*(1 - y)"),
        (["grad", "--format", "json", "-w*x + b"], "b - w*x"),
        (["grad", "-x", "-w", "x"], "-x"),
        (["hessian", "-x^3"], "-x**3"),
    ],
)
def test_an_expression_may_start_with_a_minus(args, expression):
    code, out, err = invoke(*args)
    assert code == 0 and err == ""
    first = json.loads(out)["expression"] if "json" in args else out.splitlines()[0][4:]
    assert first == expression


# ---------------------------------------------------------------- grad --at


def test_grad_at_json_adds_the_values_in_order():
    code, out, err = invoke(
        "grad", "y*log(w*x+b)", "-w", "w,b", "--at", "w=1,x=2,y=3,b=0.5", "-f", "json"
    )
    assert code == 0 and err == ""
    record = json.loads(out)
    assert list(record) == [
        "input", "expression", "wrt", "gradient", "at", "value", "gradient_value", "notes"
    ]  # fmt: skip
    assert record["at"] == {"b": 0.5, "w": 1.0, "x": 2.0, "y": 3.0}
    assert record["gradient_value"] == [2.4, 1.2]
    assert record["notes"] == ["every partial is defined where b + w*x > 0"]


def test_grad_at_outside_the_domain_is_null_never_nan_and_exit_4():
    code, out, err = invoke("grad", "log(x)", "--at", "x=-1", "-f", "json")
    assert code == 4 and err == ""
    assert "NaN" not in out and "Infinity" not in out
    record = json.loads(out)
    assert record["value"] is None and record["gradient_value"] == [-1.0]
    assert "log(x) needs x > 0, but x = -1 here" in record["notes"][0]


def test_grad_at_text_shows_values_and_notes():
    code, out, _ = invoke("grad", "relu(x)", "--at", "x=0", "-f", "text")
    assert code == 4
    assert "  df/dx = undefined" in out
    assert "note: df/dx is not defined at this kink (x = 0): left derivative 0" in out


def test_grad_at_a_missing_variable_is_a_usage_error_naming_it():
    code, out, err = invoke("grad", "x*y", "--at", "x=1")
    assert code == 2 and out == ""
    assert err == (
        "symgrad: variable error: no value for y in --at: give every variable of x*y a value "
        "(e.g. --at x=1,y=1)\n"
    )


# ---------------------------------------------------------------- check

SEED_CLAIM = ["--claim", "2*(y-x*w-b)*x", "--claim", "2*(y-w*x-b)"]


def test_check_the_seed_sign_error_exits_1_with_a_counterexample():
    code, out, err = invoke("check", "(y - (x*w + b))^2", "--wrt", "w,b", *SEED_CLAIM)
    assert code == 1 and err == ""
    assert "check: mismatch" in out
    # each claim is shown as parsed (in whatever form the text printer prefers), then why
    assert out.count(": WRONG, off by a factor of -1 (a sign error)\n") == 2
    assert "claim df/dw = " in out and "claim df/db = " in out
    assert "  at b=0.5, w=-1, x=1.5, y=2: claim 9, derivative -9 (finite difference -9)" in out


def test_check_json_is_one_record_with_the_verdict():
    code, out, err = invoke(
        "check", "(y - (x*w + b))^2", "-w", "w,b", *SEED_CLAIM, "--format", "json"
    )
    assert code == 1 and err == ""
    record = json.loads(out)
    assert record["ok"] is False and record["status"] == "mismatch"
    assert record["gradient_status"] == "pass"
    for key in ("max_abs_error", "max_rel_error", "worst_point", "points", "notes"):
        assert key in record
    claim = record["claims"][0]
    assert claim["wrt"] == "w" and claim["status"] == "mismatch"
    assert claim["counterexample"] == {"b": 0.5, "w": -1.0, "x": 1.5, "y": 2.0}
    assert claim["claimed_value"] == 9.0 and claim["true_value"] == -9.0
    assert claim["difference"] == 18.0
    assert claim["hint"] == "off by a factor of -1 (a sign error)"


@pytest.mark.parametrize(
    "args, code",
    [
        (["check", "y*log(w*x+b)", "--points", "1000"], 0),
        (
            [
                "check",
                "(y - (x*w + b))^2",
                "-w",
                "w,b",
                "-c",
                "-2*x*(y-w*x-b)",
                "-c",
                "2*(b+w*x-y)",
            ],
            0,
        ),
        (["check", "relu(x)", "--at", "x=0"], 4),
        (["check", "log(x)", "--at", "x=-1"], 4),
        (["check", "x^2", "--at", "x=3", "--claim", "2*x+0.001"], 1),
    ],
)
def test_check_exit_codes(args, code):
    exit_code, out, err = invoke(*args)
    assert exit_code == code and err == "" and out


def test_check_at_a_kink_names_both_sides_and_both_conventions():
    code, out, _ = invoke("check", "relu(x)", "--at", "x=0", "--format", "json")
    assert code == 4
    record = json.loads(out)
    assert record["status"] == "unverifiable" and record["ok"] is False
    assert record["max_abs_error"] is None and "NaN" not in out
    note = record["notes"][0]
    assert "left derivative 0, right derivative 1" in note and "PyTorch" in note


@pytest.mark.parametrize(
    "args, words",
    [
        (["check", "x*y", "--claim", "y"], "got 1 claim for 2 variables (x, y)"),
        (["check", "x", "--at", "x=1", "--points", "5"], "either --at"),
        (["check", "x", "--claim", "x +"], "parse error"),
        (["check", "x", "--points", "0"], "--points must be between"),
    ],
)
def test_check_bad_requests_exit_2_with_one_line(args, words):
    code, out, err = invoke(*args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and words in err


def test_check_streams_stdin_and_reports_the_worst_exit():
    code, out, err = invoke("check", "-", "--format", "json", input="x^2\nlog(x)\n")
    assert code == 0 and err == ""
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["pass", "pass"]


def test_check_help_has_examples():
    code, out, _ = invoke("check", "--help")
    assert code == 0 and "Examples:" in out and "--claim" in out and "--points" in out


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_exits_70_and_debug_adds_only_the_traceback(monkeypatch, debug):
    """A bug is exit 70 with one line, and the next line of a stream is still answered;
    --debug prints the traceback as well, and changes nothing else."""
    import symgrad.derive.partial as partial

    real = partial.gradient

    def broken(expr, *args, **kwargs):
        if "boom" in str(expr):
            raise ZeroDivisionError("a planted bug")
        return real(expr, *args, **kwargs)

    monkeypatch.setattr(partial, "gradient", broken)
    monkeypatch.delenv("SYMGRAD_DEBUG", raising=False)
    args = ["--debug"] if debug else []
    result = runner.invoke(app, [*args, "grad", "boom*x"])
    assert result.exit_code == 70 and result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("symgrad: internal error: ZeroDivisionError")
    assert ("Traceback" in result.stderr) == debug
    stream = runner.invoke(app, [*args, "grad", "-", "-f", "json"], input="boom*x\nx^2\n")
    assert stream.exit_code == 1  # a line of a stream failed
    records = [json.loads(line) for line in stream.stdout.splitlines()]
    assert records[0]["error"]["kind"] == "internal" and records[1]["gradient"] == ["2*x"]
