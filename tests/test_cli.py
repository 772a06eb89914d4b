"""The command line through typer's CliRunner: exit code, stdout and stderr separately."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from symgrad import parse
from symgrad.cli import app

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
        (["grad", "x*y", "--wrt", "v"], 2, "'v' is not in x*y; its variables are x, y"),
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
        "from symgrad.cli import app\n"
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
