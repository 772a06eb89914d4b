"""Pipelines: EXPR '-' streams, JSON Lines, exit codes, --file, --jobs and robust I/O.

CliRunner tests check exit code, stdout and stderr separately; subprocess tests cover what
only real pipes show (a reader that goes away, bytes that are not UTF-8, a huge line).
"""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
from importlib.resources import files

import pytest
import typer
from typer.testing import CliRunner

from symgrad.cli.app import app
from symgrad.cli.loop import Settings, answers, read_lines, write_all
from symgrad.limits import Limits
from symgrad.numeric.check import check_claim
from symgrad.printing.json import json_line
from symgrad.printing.messages import printable

runner = CliRunner()


def invoke(*args, input=None):
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.split("\n")[:-1]]


# ---------------------------------------------------------------- reading lines

SMALL = Limits(max_chars=10)


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"x\ny\n", [(1, "x", None), (2, "y", None)]),
        (b"x\r\ny\r\n", [(1, "x", None), (2, "y", None)]),
        (b"\xef\xbb\xbfx\r\ny\r\n", [(1, "x", None), (2, "y", None)]),
        (b"x", [(1, "x", None)]),
        (b"\n   \n# a comment\n  # indented\nx\n", [(5, "x", None)]),
        (b"x\n\n\ny", [(1, "x", None), (4, "y", None)]),
        (b"# caf\xe9 (latin-1 comment)\nx\n", [(2, "x", None)]),
        (b"\xff x\n", [(1, "\ufffd x", "input")]),
        (b"x + \xc3\n", [(1, "x + \ufffd", "input")]),
        ("θ^2\n".encode(), [(1, "θ^2", None)]),
        # the byte cap is 4 * max_chars + 2 (CR LF); parse() judges a line under it
        (b"x" * 43 + b"\nz\n", [(1, "x" * 43 + "...", "limit"), (2, "z", None)]),
        (b"x" * 43, [(1, "x" * 43 + "...", "limit")]),
        (b"x" * 42, [(1, "x" * 42, None)]),
        (b"x" * 40 + b"\r\n", [(1, "x" * 40, None)]),
        (b"x\ry\n", [(1, "x\ry", None)]),  # a lone CR is whitespace inside the line
    ],
)
def test_read_lines(data, expected):
    got = [
        (ln.number, ln.text, ln.problem and ln.problem[0])
        for ln in read_lines(io.BytesIO(data), SMALL)
    ]
    assert got == expected


def test_an_over_long_line_is_skipped_in_bounded_reads():
    class Recording(io.BytesIO):
        biggest = 0

        def readline(self, size=-1):
            assert size > 0, "every read is bounded"
            chunk = super().readline(size)
            Recording.biggest = max(Recording.biggest, len(chunk))
            return chunk

    data = b"x+" * 2_000_000 + b"\ny\n"
    lines = list(read_lines(Recording(data), Limits()))
    assert [ln.text for ln in lines][1] == "y"
    # the line end is not counted in its size
    assert lines[0].problem[0] == "limit" and "4,000,000 bytes" in lines[0].problem[1]
    assert len(lines[0].text) == 103
    assert Recording.biggest <= 4 * Limits().max_chars + 3


# ---------------------------------------------------------------- one record per line


def test_json_stream_one_record_per_line_in_order():
    data = "x^2\n\n# skipped\r\nsin(y)*x\r\nx +\n  \nexp(w)\n"
    code, out, err = invoke("grad", "-", "--format", "json", input=data)
    assert code == 1 and err == ""
    got = records(out)
    assert [r["input"] for r in got] == ["x^2", "sin(y)*x", "x +", "exp(w)"]
    assert [r["line"] for r in got] == [1, 4, 5, 7]  # records join back to their input lines
    assert got[1]["gradient"] == ["sin(y)", "x*cos(y)"]
    assert got[2] == {
        "input": "x +",
        "line": 5,
        "error": {
            "kind": "parse",
            "message": "the expression ends too early: expected a number, a name or '('",
            "column": 4,
        },
    }


def test_a_stream_without_failures_exits_0():
    code, out, err = invoke("grad", "-", "-f", "json", input="x^2\ny^3\n")
    assert code == 0 and err == "" and len(records(out)) == 2


def test_an_empty_stream_writes_nothing_and_exits_0():
    assert invoke("grad", "-", "-f", "json", input="\n# only a comment\n") == (0, "", "")


def test_wrt_applies_to_every_line_and_each_line_uses_its_own_variables():
    code, out, _ = invoke("grad", "-", "-f", "json", "--wrt", "w", input="w*x\nw^2*y\nx*y\n")
    got = records(out)
    assert [r.get("wrt") for r in got] == [["w"], ["w"], ["w"]]
    assert [r["gradient"] for r in got] == [["x"], ["2*w*y"], ["0"]]
    assert got[2]["notes"] == ["'w' does not appear in x*y: its partial is 0"]
    assert "notes" not in got[0] and code == 0
    code, out, _ = invoke("grad", "-", "-f", "json", input="w*x\nz\n")
    assert [r["wrt"] for r in records(out)] == [["w", "x"], ["z"]]


def test_text_stream_separates_records_with_a_blank_line_and_errors_go_to_stderr():
    code, out, err = invoke("grad", "-", input="x^2\nx*)\nx*y\n")
    assert code == 1
    assert out == "f = x**2\ndf/dx = 2*x\n\nf = x*y\ndf/dx = y\ndf/dy = x\n\n"
    assert err == (
        "symgrad: line 2: parse error at column 3: "
        "unexpected ')': expected a number, a name or '('\n"
    )


def test_latex_stream_separates_records_too():
    code, out, _ = invoke("grad", "-", "-f", "latex", input="x^2\ny^2\n")
    assert code == 0
    assert [block.splitlines()[0] for block in out.split("\n\n")[:-1]] == ["f = x^{2}", "f = y^{2}"]


def test_pretty_stream_answers_every_line():
    code, out, _ = invoke("grad", "-", "-f", "pretty", "--jobs", "2", input="x^2\nsin(x)\n")
    assert code == 0 and out.count("parsed as") == 2


def test_invalid_utf8_is_an_error_record_and_the_stream_goes_on():
    code, out, err = invoke("grad", "-", "-f", "json", input=b"x^2\n\xff\xfe x\ny\n")
    got = records(out)
    assert code == 1 and err == "" and len(got) == 3
    assert got[1]["error"] == {
        "kind": "input",
        "message": "the line is not UTF-8 text (byte 0xff)",
        "column": 1,
    }
    assert got[1]["input"] == "\ufffd\ufffd x" and got[2]["gradient"] == ["1"]


def test_line_breaks_other_than_lf_never_split_a_record():
    data = "x\u2028y\nx\x85\nx\x0cy\n"
    code, out, _ = invoke("grad", "-", "-f", "json", input=data)
    assert len(out.splitlines()) == 3  # str.splitlines breaks on U+2028, NEL and FF too
    assert [r["input"] for r in records(out)] == ["x\u2028y", "x\x85", "x\x0cy"]


def test_stderr_messages_have_no_control_characters():
    assert printable("bad \x1b[31m red \x9b") == "bad \\x1b[31m red \\x9b"
    _, _, err = invoke("grad", "-", input="\x1b[2Jx\n")
    assert "\x1b" not in err and err.startswith("symgrad: line 1: parse error at column 1")


def test_json_line_is_one_line():
    assert json_line({"input": "a\u2028b\u2029c\x85\n"}) == r'{"input": "a\u2028b\u2029c\u0085\n"}'


# ---------------------------------------------------------------- exit codes of results


def _verdict(text: str):
    """A check whose claim is right for "good" and wrong otherwise; "boom" is a bug."""
    if text == "boom":
        raise ValueError("an internal bug")
    return check_claim("x^2", ["2*x" if text == "good" else "3*x"], "x", at="x=1")


def run_lines(data: bytes, compute, debug: bool = False) -> int:
    settings = Settings(fmt="json", debug=debug)
    return write_all(answers(read_lines(io.BytesIO(data), Limits()), compute, settings), True)


@pytest.mark.parametrize(
    "lines, status",
    [
        (b"good\ngood\n", 0),
        (b"good\nbad\ngood\n", 1),  # a result's own exit code counts in a stream
        (b"good\nboom\ngood\n", 1),  # an internal error is one record, not a crash
    ],
)
def test_stream_status(lines, status, capsys):
    assert run_lines(lines, _verdict) == status
    out = capsys.readouterr().out
    assert [r["line"] for r in records(out)] == list(range(1, lines.count(b"\n") + 1))


def test_an_internal_error_is_a_record_of_kind_internal(capsys):
    run_lines(b"boom\ngood\n", _verdict)
    first, second = records(capsys.readouterr().out)
    assert (
        first["error"]["kind"] == "internal"
        and "ValueError: an internal bug" in (first["error"]["message"])
    )
    assert (first["line"], second["line"], second["status"]) == (1, 2, "pass")


def test_debug_shows_the_internal_error_and_the_stream_goes_on(capsys):
    assert run_lines(b"boom\ngood\n", _verdict, debug=True) == 1
    captured = capsys.readouterr()
    assert "Traceback" in captured.err and "ValueError: an internal bug" in captured.err
    first, second = records(captured.out)
    assert first["error"]["kind"] == "internal" and second["status"] == "pass"


# ---------------------------------------------------------------- options on every command


def test_every_command_with_expr_has_file_and_jobs():
    group = typer.main.get_command(app)
    with_expr = [c for c in group.commands.values() if any(p.name == "expr" for p in c.params)]
    assert with_expr, "at least grad takes EXPR"
    for command in with_expr:
        names = {opt for p in command.params for opt in getattr(p, "opts", [])}
        assert {"--file", "--jobs"} <= names, command.name


@pytest.mark.parametrize(
    "args, words",
    [
        (["grad"], "usage error: Missing argument 'EXPR'"),
        (["grad", "x", "--file", "f.txt"], "usage error: give either EXPR or --file, not both"),
        (["grad", "--file", "/no/such/file"], "input error: cannot read --file /no/such/file"),
        (["grad", "--file", "/"], "input error: cannot read --file /: Is a directory"),
        (["grad", "-", "--jobs", "-1"], "usage error: Invalid value for '--jobs'"),
    ],
)
def test_option_errors_are_one_line_and_exit_2(args, words):
    code, out, err = invoke(*args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and words in err


# ---------------------------------------------------------------- --file


def test_file_newlines_are_whitespace(tmp_path):
    path = tmp_path / "loss.txt"
    path.write_text("(y - (w*x\n   + b))^2\r\n", encoding="utf-8")
    code, out, err = invoke("grad", "--file", str(path), "--wrt", "w,b", "-f", "json")
    assert code == 0 and err == ""
    _, typed, _ = invoke("grad", "(y - (w*x + b))^2", "-w", "w,b", "-f", "json")
    assert json.loads(out)["gradient"] == json.loads(typed)["gradient"]


def test_file_may_be_longer_than_a_typed_expression(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("x" + " +\n1" * 30_000, encoding="utf-8")
    assert len(path.read_text()) > Limits().max_chars
    code, out, err = invoke("grad", "--file", str(path), "-f", "json")
    assert code == 0 and err == ""
    assert json.loads(out)["expression"] == "x + 30000"


def test_file_error_points_at_line_and_column(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("x +\n y *\n  )\n", encoding="utf-8")
    code, out, err = invoke("grad", "--file", str(path))
    assert code == 2 and out == ""
    assert err.startswith("symgrad: parse error: unexpected ')'") and "(line 3, column 3 of " in err


def test_file_that_is_not_utf8_is_exit_2(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"x +\ncaf\xe9\n")
    code, out, err = invoke("grad", "--file", str(path))
    assert code == 2 and out == ""
    assert "is not UTF-8 text: byte 0xe9 at line 2, column 4" in err


def test_file_dash_reads_all_of_stdin_as_one_expression():
    code, out, _ = invoke("grad", "--file", "-", "-f", "json", input="x *\n y\n")
    assert code == 0 and json.loads(out)["gradient"] == ["y", "x"]


# ---------------------------------------------------------------- --jobs


def test_jobs_keeps_input_order():
    lines = [f"{k}*x^{k % 7 + 1} + y" if k % 10 else "x +" for k in range(300)]
    data = "\n".join(lines) + "\n"
    one = invoke("grad", "-", "-f", "json", input=data)
    two = invoke("grad", "-", "-f", "json", "--jobs", "2", input=data)
    assert one == two and one[0] == 1
    assert [r["input"] for r in records(two[1])] == lines


# ---------------------------------------------------------------- the JSON Schema


def schema():
    return json.loads(files("symgrad").joinpath("schema.json").read_text(encoding="utf-8"))


# one row per command and shape of record; a command this checkout does not have is skipped
SCHEMA_CASES = [
    ("grad", ["y*log(w*x+b)\nsigmoid(θ)\nx +\n10^10^10\n"], [], "grad"),
    ("grad", ["x^2*y\nlog(x)\n"], ["--at", "x=-1,y=2"], "grad"),
    ("hessian", ["x^2*y\nx +\n"], [], "hessian"),
    ("jacobian", ["softmax(a, b)\n"], [], "jacobian"),
    ("diff", ["x^3*y\n"], ["--wrt", "x,y"], "derivative"),
    ("check", ["x^2\nrelu(x)\n"], ["--claim", "2*x"], "check"),
    ("check", ["relu(x)\n"], ["--at", "x=0"], "check"),
    ("hessian", ["x^2*y\nlog(x)*y\n"], ["--at", "x=-1,y=2"], "hessian"),
    ("hessian", ["sin(x*y)^2\n"], ["--cse"], "hessian"),
    ("jacobian", ["[x*y, log(x)]\nsoftmax(x, y)\n"], ["--at", "x=2,y=1"], "jacobian"),
    ("jacobian", ["[sin(x*y), cos(x*y)]\n"], ["--cse"], "jacobian"),
    ("diff", ["x^3*y\n"], ["--wrt", "x", "--order", "2", "--at", "x=1,y=2"], "derivative"),
    ("codegen", ["sigmoid(w*x + b)\nsoftmax(a, b)[0]\n"], [], "code"),
]


def _has(command: str, options: list[str]) -> bool:
    found = typer.main.get_command(app).commands.get(command)
    opts = {o for p in found.params for o in getattr(p, "opts", [])} if found else set()
    return found is not None and {o for o in options if o.startswith("--")} <= opts


@pytest.mark.parametrize("command, lines, options, kind", SCHEMA_CASES)
def test_records_match_the_json_schema(command, lines, options, kind):
    jsonschema = pytest.importorskip("jsonschema")
    if not _has(command, options):
        pytest.skip(f"no '{command} {' '.join(options)}' here")
    data = "".join(lines).encode() + b"\xff\n"  # and a line that is not UTF-8
    _, out, _ = invoke(command, "-", "-f", "json", *options, input=data)
    got = records(out)
    assert len(got) == data.count(b"\n")
    every = jsonschema.Draft202012Validator(schema())
    this = jsonschema.Draft202012Validator({**schema(), "$ref": f"#/$defs/{kind}"})
    error = jsonschema.Draft202012Validator({**schema(), "$ref": "#/$defs/error"})
    for record in got:
        every.validate(record)
        (error if "error" in record else this).validate(record)


def test_functions_records_match_the_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator({**schema(), "$ref": "#/$defs/function"})
    _, out, _ = invoke("functions", "--format", "json")
    for record in records(out):
        validator.validate(record)


def test_schema_rejects_what_the_contract_forbids():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(schema())
    for bad in [
        {"input": "x", "error": {"kind": "parse", "message": "m"}},  # column missing
        {"input": "x", "expression": "x", "wrt": ["x"]},  # gradient missing
        {"input": "x", "expression": "x", "wrt": "x", "gradient": ["1"]},
    ]:
        assert not validator.is_valid(bad), bad


# ---------------------------------------------------------------- real pipes


def _symgrad(*args):
    return [sys.executable, "-m", "symgrad", *args]


def _hostile_stream(n: int = 1000):
    """n lines, every tenth malformed or hostile; returns (bytes, indices of the bad lines)."""
    bad = [
        b"__import__('os').system('echo hacked')",
        b"x +* 2",
        b"\x1b[31mx\x1b[0m",
        b"\xff\xfe\xfd",
        b"10^10^10",
        b"x" * 500_000,
        b"x\x00y",
        b"(" * 300 + b"x" + b")" * 300,
        b"lambda: 0",
        b"x; y",
        b"open('/etc/passwd')",
        b"x[0]",
        b"'x'",
        b"exp(",
        b"1/0",
    ]
    lines, bad_at = [], []
    for k in range(n):
        if k % 10 == 7:
            lines.append(bad[(k // 10) % len(bad)])
            bad_at.append(k)
        else:
            lines.append(f"{k % 13 + 2}*x^{k % 5 + 1} + y*w{k % 3}".encode())
    return b"\n".join(lines) + b"\n", bad_at


def test_a_hostile_stream_gives_one_json_record_per_line():
    data, bad_at = _hostile_stream()
    proc = subprocess.run(
        _symgrad("grad", "-", "--format", "json"), input=data, capture_output=True, timeout=300
    )
    assert proc.returncode == 1
    assert proc.stderr == b""
    assert b"\x1b" not in proc.stdout
    out = proc.stdout.decode("utf-8")
    assert out.endswith("\n")
    got = [json.loads(line) for line in out.split("\n")[:-1]]
    assert len(got) == 1000
    assert [k for k, r in enumerate(got) if "error" in r] == bad_at
    sent = data.split(b"\n")
    for k, record in enumerate(got):
        if k not in bad_at:
            assert record["input"] == sent[k].decode()


def _stops_quietly_when_the_reader_goes_away(tmp_path, *options):
    big = tmp_path / "big.txt"
    big.write_text("".join(f"{k}*x^2 + y\n" for k in range(5000)))
    with big.open("rb") as stdin:
        proc = subprocess.Popen(
            _symgrad("grad", "-", "--format", "json", *options),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        first = proc.stdout.readline()
        proc.stdout.close()  # what `| head -1` does after its line
        code = proc.wait(timeout=300)
    assert json.loads(first)["input"] == "0*x^2 + y"
    assert proc.stderr.read() == b""
    assert code == 0


def test_head_1_ends_the_stream_quietly(tmp_path):
    _stops_quietly_when_the_reader_goes_away(tmp_path)


def test_head_1_ends_the_stream_quietly_with_jobs(tmp_path):
    _stops_quietly_when_the_reader_goes_away(tmp_path, "--jobs", "2")


def test_head_1_in_a_shell_pipeline(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("x^2\n" * 20_000)
    cmd = " ".join(_symgrad("grad", "-", "--format", "json"))
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{cmd} < {big} | head -1; echo status=$?"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.splitlines() == [
        '{"input": "x^2", "line": 1, "expression": "x**2", "wrt": ["x"], "gradient": ["2*x"]}',
        "status=0",
    ]
    assert proc.stderr == ""


def test_a_huge_line_without_newline_is_a_limit_record(tmp_path):
    data = b"x^2\n" + b"y*" * 5_000_000 + b"y"
    proc = subprocess.run(
        _symgrad("grad", "-", "--format", "json"), input=data, capture_output=True, timeout=300
    )
    got = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and proc.stderr == b""
    assert got[0]["gradient"] == ["2*x"]
    assert got[1]["error"]["kind"] == "limit" and "10,000,001 bytes" in got[1]["error"]["message"]
    assert len(got[1]["input"]) == 103


def test_each_record_is_flushed_as_soon_as_it_is_ready():
    proc = subprocess.Popen(
        _symgrad("grad", "-", "--format", "json"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for text in ["x^2", "sin(y)"]:
            proc.stdin.write(text.encode() + b"\n")
            proc.stdin.flush()  # stdin stays open, as with tail -f
            ready, _, _ = select.select([proc.stdout], [], [], 120)
            assert ready, "no record while the input stays open"
            assert json.loads(proc.stdout.readline())["input"] == text
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_format_auto_in_a_pipe_is_text():
    proc = subprocess.run(
        _symgrad("grad", "-"), input=b"x^2\n", capture_output=True, timeout=60, env=os.environ
    )
    assert proc.stdout == b"f = x**2\ndf/dx = 2*x\n\n"


def test_every_expression_command_takes_file_and_no_other_does(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("sin(x)\n")
    for command in ("grad", "hessian", "jacobian", "diff", "check", "codegen"):
        result = runner.invoke(app, [command, "--file", str(path), "--format", "json"])
        assert result.exit_code == 0, (command, result.stderr)
        assert json.loads(result.stdout)["expression"] == "sin(x)"
    result = runner.invoke(app, ["grad"])
    assert result.exit_code == 2 and "Missing argument 'EXPR'" in result.stderr
    result = runner.invoke(app, ["functions", "--file", str(path)])
    assert result.exit_code == 2 and "No such option '--file'" in result.stderr


@pytest.mark.parametrize("args", [["grad", "x^2"], ["grad", "-"], ["grad", "-", "--jobs", "2"]])
def test_a_reader_gone_before_the_first_record_is_quiet_too(args):
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout fails with EPIPE
    try:
        proc = subprocess.run(
            _symgrad(*args, "--format", "json"),
            input=b"x^2\ny^2\n",
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (0, b"")
