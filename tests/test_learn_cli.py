"""symgrad explain, plot and descend through the real command line: exit codes, stdout and
stderr apart, no ANSI bytes when piped, terminal charts at 40, 80 and 200 columns, and JSON
Lines records that match schema.json."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.resources import files

import pytest

from tests.test_cli import _run_in_terminal


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "symgrad", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def validator(kind: str):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(files("symgrad").joinpath("schema.json").read_text())
    return jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{kind}"})


def test_explain_prints_the_steps_and_the_result_grad_prints():
    proc = run("explain", "sigmoid(w*x + b)", "--wrt", "w")
    assert proc.returncode == 0 and proc.stderr == ""
    assert "where u = b + w*x" in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("  4. df/dw = x*sigmoid(b + w*x)")
    grad = run("grad", "sigmoid(w*x + b)", "--wrt", "w").stdout.splitlines()[-1]
    assert grad.split(" = ")[1] in proc.stdout


def test_explain_at_a_point_gives_the_graph_and_its_json_matches_the_schema():
    proc = run("explain", "(y - (x*w + b))^2", "--wrt", "w,b", "--at", "w=1,x=2,y=3,b=0.5",
               "--format", "json")  # fmt: skip
    assert proc.returncode == 0
    (record,) = records(proc.stdout)
    validator("explain").validate(record)
    grad = records(run("grad", "(y - (x*w + b))^2", "--wrt", "w,b", "--at",
                       "w=1,x=2,y=3,b=0.5", "--format", "json").stdout)[0]  # fmt: skip
    leaves = {n["id"]: n["grad"] for n in record["graph"]["nodes"] if n["leaf"]}
    assert [leaves["w"], leaves["b"]] == grad["gradient_value"] == record["gradient_value"]
    assert leaves["x"] is None and leaves["y"] is None  # they do not require grad


def test_explain_dot_is_graphviz_source():
    proc = run("explain", "w*x + b", "--at", "w=0.5,x=2,b=1", "--wrt", "w,b", "-f", "dot")
    assert proc.returncode == 0
    assert proc.stdout.startswith("digraph backward {") and proc.stdout.rstrip().endswith("}")
    assert re.search(r'"w" -> "t0" \[label="dt0/dw = x = 2"\]', proc.stdout)
    bad = run("explain", "w*x", "-f", "dot")
    assert bad.returncode == 2 and "--at" in bad.stderr and bad.stdout == ""


def test_explain_latex_is_an_aligned_derivation():
    proc = run("explain", "y*log(w*x + b)", "--wrt", "w", "--format", "latex")
    assert proc.returncode == 0 and "\\begin{aligned}" in proc.stdout


def test_explain_a_stream_answers_each_line():
    proc = subprocess.run([sys.executable, "-m", "symgrad", "explain", "-", "--format", "json"],
                          input="x^2\nlog(\nsin(x)\n", capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    lines = records(proc.stdout)
    assert proc.returncode == 1 and [r["line"] for r in lines] == [1, 2, 3]
    assert "error" in lines[1] and lines[2]["gradient"] == ["cos(x)"]


@pytest.mark.parametrize("width", [40, 80, 200])
def test_plot_draws_in_a_terminal_at_any_width(width):
    code, out = _run_in_terminal(["plot", "sigmoid(x)", "--range", "-100:100"],
                                 {"COLUMNS": str(width), "NO_COLOR": "1"})  # fmt: skip
    assert code == 0
    lines = [line for line in out.replace("\r", "").splitlines() if line.strip()]
    assert any("⣀" in line or "⠤" in line for line in lines)
    assert all(len(line) <= width for line in lines if not line.startswith("note:"))
    assert "vanishes" in out


def test_plot_piped_has_no_ansi_bytes_and_json_agrees_with_grad_at():
    proc = run("plot", "x^3 - x", "--range", "-2:2")
    assert proc.returncode == 0 and "\x1b" not in proc.stdout and "df/dx" in proc.stdout
    proc = run("plot", "x^3 - x", "--range", "-2:2", "--format", "json")
    (record,) = records(proc.stdout)
    validator("plot").validate(record)
    for i in (0, 100, 200, 300, 400):
        x = record["x"][i]
        at = records(run("grad", "x^3 - x", "--at", f"x={x!r}", "--format", "json").stdout)[0]
        assert record["f"][i] == pytest.approx(at["value"], rel=1e-13, abs=1e-300)
        assert record["gradient"][0][i] == pytest.approx(at["gradient_value"][0], rel=1e-13)


def test_plot_writes_png_and_svg(tmp_path):
    pytest.importorskip("matplotlib")
    png, svg = tmp_path / "f.png", tmp_path / "g.svg"
    proc = run("plot", "tan(x)", "--range", "-3:3", "-o", str(png))
    assert proc.returncode == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert proc.stdout.startswith(f"wrote {png} (png)")
    proc = run("plot", "x^2 + 3*y^2", "--wrt", "x,y", "-o", str(svg))
    assert proc.returncode == 0 and ET.parse(svg).getroot().tag.endswith("svg")


def test_plot_of_two_variables_needs_a_file():
    proc = run("plot", "x*y")
    assert proc.returncode == 2 and "-o FILE" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize(
    "args, code, verdict",
    [
        (["x^4 - 3*x^2 + x", "--from", "x=2", "--lr", "0.01"], 0, "converged"),
        (["x^4 - 3*x^2 + x", "--from", "x=2", "--lr", "0.01", "--momentum", "0.9"], 0,
         "converged"),
        (["x^2", "--from", "x=1", "--lr", "1.5"], 1, "diverged"),
        (["exp(-x)", "--from", "x=0", "--lr", "0.1", "--steps", "20"], 1, "step limit"),
    ],
)  # fmt: skip
def test_descend_verdicts_and_exit_codes(args, code, verdict):
    proc = run("descend", *args, "--format", "json")
    assert proc.returncode == code, proc.stderr
    lines = records(proc.stdout)
    for r in lines[:-1]:
        validator("descent_step").validate(r)
    validator("descent").validate(lines[-1])
    assert lines[-1]["verdict"] == verdict
    assert [r["step"] for r in lines[:-1]] == list(range(lines[-1]["steps"] + 1))


def test_descend_escapes_the_local_minimum_with_momentum():
    plain = records(run("descend", "x^4 - 3*x^2 + x", "--from", "x=2", "--lr", "0.01",
                        "-f", "json").stdout)[-1]  # fmt: skip
    heavy = records(run("descend", "x^4 - 3*x^2 + x", "--from", "x=2", "--lr", "0.01",
                        "--momentum", "0.9", "-f", "json").stdout)[-1]  # fmt: skip
    assert round(plain["point"]["x"], 2) == 1.13 and round(heavy["point"]["x"], 2) == -1.3


def test_descend_text_shows_every_kth_step_and_the_picture(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "path.png"
    proc = run("descend", "(1-x)^2 + 100*(y-x^2)^2", "--from", "x=-1.5,y=2", "--optimizer",
               "momentum", "--plot", str(out))  # fmt: skip
    assert proc.returncode == 0 and "\x1b" not in proc.stdout
    assert proc.stdout.splitlines()[-1].startswith("converged after 3,118 steps")
    assert len(proc.stdout.splitlines()) < 40
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "args, message",
    [
        (["descend", "x^2", "--from", "x=1", "--optimizer", "rmsprop"], "sgd, momentum"),
        (["descend", "x^2 + y", "--from", "x=1"], "no value for y"),
        (["plot", "x", "--range", "5:1"], "low < high"),
        (["plot", "x", "-o", "f.jpg"], ".png, .svg or .pdf"),
        (["explain", "x^2", "--at", "x=1,y=1"], "'y' is not in"),
    ],
)
def test_bad_requests_are_one_line_on_stderr_and_exit_2(args, message):
    proc = run(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and message in proc.stderr


def test_the_learning_page_shows_every_command_and_its_pictures_exist():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "learn.md").read_text()
    for command in ("symgrad explain", "symgrad plot", "symgrad descend"):
        assert f"$ {command}" in page
    for picture in re.findall(r"\]\((img/[^)]+\.svg)\)", page):
        root_tag = ET.parse(root / "docs" / picture).getroot().tag
        assert root_tag.endswith("svg"), picture


@pytest.mark.parametrize("fmt", ["text", "pretty", "json"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("text", ["log(x)", "sqrt(x)"])
def test_a_descent_that_leaves_the_domain_says_so_in_every_format(text, optimizer, fmt):
    """A step to where f is undefined (log(x) at x < 0) ends the descent with the verdict
    "left domain" and exit 1, and its point is printed (NaN was an internal error, exit 70)."""
    proc = run("descend", text, "--from", "x=1", "--lr", "0.5", "--optimizer", optimizer,
               "--format", fmt)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    if fmt == "json":
        last = records(proc.stdout)[-1]
        assert last["verdict"] == "left domain" and last["value"] is None
        assert last["point"]["x"] < 0
    else:
        assert "left the domain of f at step" in proc.stdout
        assert "nan" not in proc.stdout
