"""--shape and --dims through the command line: exit code, stdout and stderr separately, every
format, streams, points from files, and the JSON Schema."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files

import numpy as np
import pytest
from typer.testing import CliRunner

from symgrad import parse_matrix
from symgrad.cli.app import app

runner = CliRunner()
LSQ = ["norm2(X*w - y)^2", "--shape", "X=m,n", "--shape", "w=n", "--shape", "y=m"]


def invoke(*args, input=None):
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.split("\n")[:-1]]


# ---------------------------------------------------------------- grad


def test_grad_text_shows_the_shapes_and_reparses():
    code, out, err = invoke("grad", *LSQ, "--wrt", "w")
    assert (code, err) == (0, "")
    assert out == "shapes: X=m,n; w=n; y=m\nf = norm2(X*w - y)^2\ndf/dw = 2*X'*(X*w - y)\n"
    shapes = out.splitlines()[0].removeprefix("shapes: ")
    for line in out.splitlines()[1:]:
        expr = line.split(" = ", 1)[1]
        assert str(parse_matrix(expr, shapes)) == expr


def test_grad_json_has_shapes_and_each_partials_shape():
    code, out, err = invoke("grad", *LSQ, "--format", "json")
    assert (code, err) == (0, "")
    record = json.loads(out)
    assert list(record) == [
        "input", "expression", "wrt", "shapes", "gradient", "gradient_shapes"
    ]  # fmt: skip
    assert record["shapes"] == {"X": ["m", "n"], "w": ["n"], "y": ["m"]}
    assert record["wrt"] == ["X", "w", "y"]
    assert record["gradient"] == ["2*(X*w - y)*w'", "2*X'*(X*w - y)", "-2*(X*w - y)"]
    assert record["gradient_shapes"] == [["m", "n"], ["n"], ["m"]]


def test_the_notes_tensors():
    code, out, _ = invoke("grad", "sum(x + b)", "--wrt", "b", "--shape", "x=3,4; b=3,4")
    assert code == 0 and out.splitlines()[-1] == "df/db = ones(3,4)"


def test_grad_pretty_shows_shapes_and_unicode():
    code, out, _ = invoke("grad", *LSQ, "--wrt", "w", "--format", "pretty")
    assert code == 0
    assert "parsed as  f = norm2(X*w - y)²" in out
    assert "X: m×n   w: n   y: m" in out
    assert "∂f/∂w = 2*Xᵀ*(X*w - y)   [n]" in out


def test_grad_latex_is_bold_with_top():
    code, out, _ = invoke("grad", *LSQ, "--wrt", "w", "--format", "latex")
    assert code == 0
    assert out.splitlines()[-1] == (
        r"\frac{\partial f}{\partial \mathbf{w}} = 2 \mathbf{X}^\top "
        r"\left(\mathbf{X} \mathbf{w} - \mathbf{y}\right)"
    )


def test_grad_cse():
    code, out, _ = invoke(
        "grad", "norm2(y - V*tanh(W*x + b))^2", "--shape", "y=p; V=p,h; W=h,n; x=n; b=h",
        "--wrt", "W,b,V", "--cse",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[2:] == [
        "t0 = tanh(W*x + b)",
        "t1 = y - V*t0",
        "t2 = (1 - t0.^2) .* (V'*t1)",
        "df/dW = -2*t2*x'",
        "df/db = -2*t2",
        "df/dV = -2*t1*t0'",
    ]


@pytest.mark.parametrize("at", ["@{path}", "{path}", '{{"X": [[1, 2], [3, 4], [5, 6]], '
                                '"w": [1, -1], "y": [0, 1, 0]}}',
                                "X=[[1, 2], [3, 4], [5, 6]], w=[1, -1], y=[0, 1, 0]"])  # fmt: skip
def test_grad_at_a_point(tmp_path, at):
    point = {"X": [[1, 2], [3, 4], [5, 6]], "w": [1, -1], "y": [0, 1, 0]}
    path = tmp_path / "point.json"
    path.write_text(json.dumps(point))
    code, out, err = invoke("grad", *LSQ, "--at", at.format(path=path), "--format", "json")
    assert (code, err) == (0, "")
    record = json.loads(out)
    X, w, y = (np.array(point[k], dtype=float) for k in "Xwy")
    assert record["at"] == point and record["dims"] == {"m": 3, "n": 2}
    assert record["value"] == pytest.approx(float(np.sum((X @ w - y) ** 2)))
    dX, dw, dy = record["gradient_value"]
    np.testing.assert_allclose(dw, 2 * X.T @ (X @ w - y))
    np.testing.assert_allclose(dX, 2 * np.outer(X @ w - y, w))
    assert np.shape(dX) == (3, 2) and np.shape(dy) == (3,)


def test_grad_at_a_point_text():
    code, out, _ = invoke(
        "grad", *LSQ, "--wrt", "w", "--at", "X=[[1, 0], [0, 1]], w=[1, 2], y=[0, 0]"
    )
    assert code == 0
    assert out.splitlines()[-3:] == ["at X=[[1, 0], [0, 1]], w=[1, 2], y=[0, 0] (m=2, n=2):",
                                     "  f = 5", "  df/dw = [2, 4]"]  # fmt: skip


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["grad", "X*y", "--shape", "X=m,n; y=m"], 2,
         "symgrad: input error at column 2: matrix product X*y: X is m×n and y is a vector of m"),
        (["grad", "X*w", "--shape", "X=m,n; w=n"], 2, "a gradient needs a scalar"),
        (["grad", "x^2", "--dims", "n=3"], 2, "--dims gives the sizes of the names of --shape"),
        (["grad", "sum(x)", "--shape", "x=m,n,k"], 2, "3 dimensions"),
        (["grad", "sum(x", "--shape", "x=n"], 2, "symgrad: parse error at column 4"),
        (["grad", "sum(x)", "--shape", "x=n", "--at", "x=[1, 2"], 2, "not a list"),
        (["grad", "sum(x)", "--shape", "x=n", "--at", "@/nonexistent.json"], 2,
         "cannot read the point file"),
        (["grad", "sum(x)", "--shape", "x=n", "--latex"], 2, "--shape reads plain notation"),
        (["codegen", "sum(x)", "--shape", "x=n", "--target", "python"], 2, "has no matrix code"),
        (["jacobian", "W*x", "--shape", "W=m,n; x=n", "--wrt", "W"], 2, "the matrix W"),
        (["grad", "sum(log(x))", "--shape", "x=n", "--at", "x=[-1, 1]"], 4, None),
        (["grad", "norm2(x)^" + "9" * 5000, "--shape", "x=n"], 3, "limit"),
    ],
)  # fmt: skip
def test_errors_are_one_line_and_an_exit_code(args, code, message):
    got, out, err = invoke(*args)
    assert got == code
    if message is not None:
        assert out == "" and message in err and err.count("\n") == 1
        assert "Traceback" not in err


# ---------------------------------------------------------------- check


def test_check_passes_entry_by_entry():
    code, out, err = invoke("check", *LSQ, "--dims", "m=5,n=3", "--format", "json")
    assert (code, err) == (0, "")
    record = json.loads(out)
    assert record["status"] == "pass" and record["ok"] is True
    assert record["dims"] == {"m": 5, "n": 3} and record["points"] == 10
    assert record["entries"] == 10 * (15 + 3 + 5)
    assert np.shape(record["worst_point"]["X"]) == (5, 3)


def test_check_a_wrong_claim_exits_1_with_a_hint():
    code, out, err = invoke("check", *LSQ, "--wrt", "w", "--claim", "-2*X'*(X*w - y)")
    assert code == 1 and err == ""
    assert "claim df/dw = -2*X'*(X*w - y): WRONG, off by a factor of -1 (a sign error)" in out
    assert "the derivative is 2*X'*(X*w - y)" in out


def test_check_a_transposed_claim():
    code, out, _ = invoke(
        "check", "tr(A*X*B)", "--shape", "A=n,n; X=n,n; B=n,n", "--wrt", "X", "--claim", "B*A",
        "--format", "json",
    )  # fmt: skip
    assert code == 1
    (claim,) = json.loads(out)["claims"]
    assert claim["hint"] == "the claim is the transpose of the derivative: try A'*B'"
    assert claim["entry"] is not None and claim["counterexample"] is not None


def test_check_a_right_claim_symbolically():
    code, out, _ = invoke("check", *LSQ, "--wrt", "w", "--claim", "2*X'*X*w - 2*X'*y")
    assert code == 0
    assert "claim df/dw = 2*X'*X*w - 2*X'*y: right, proved (the same matrix formula)" in out


def test_check_at_a_point_outside_the_domain():
    code, out, _ = invoke("check", "log(det(X))", "--shape", "X=n,n", "--at", "X=[[-1, 0], [0, 1]]")
    assert code == 4 and "check: unverifiable" in out


# ---------------------------------------------------------------- jacobian and codegen


def test_jacobian_by_a_vector():
    code, out, _ = invoke("jacobian", "tanh(W*x + b)", "--wrt", "x", "--shape", "W=m,n; x=n; b=m")
    assert code == 0 and out.splitlines()[-1] == "df/dx = diag(1 - tanh(W*x + b).^2)*W"


def test_jacobian_at_a_point():
    code, out, _ = invoke(
        "jacobian", "A*x", "--shape", "A=m,n; x=n", "--wrt", "x", "--format", "json",
        "--at", "A=[[1, 2], [3, 4], [5, 6]], x=[1, 1]",
    )  # fmt: skip
    assert code == 0
    record = json.loads(out)
    assert record["jacobian"] == ["A"] and record["jacobian_shapes"] == [["m", "n"]]
    assert record["value"] == [3, 7, 11] and record["jacobian_value"] == [[[1, 2], [3, 4], [5, 6]]]


def test_codegen_numpy_runs():
    code, out, _ = invoke("codegen", *LSQ, "--wrt", "w")
    assert code == 0
    namespace: dict = {}
    exec(out, namespace)  # the generated module, as a user would import it
    value, (dw,) = namespace["f"](np.eye(2), [1.0, 2.0], [0.0, 0.0])
    assert value == pytest.approx(5.0) and dw.tolist() == [2.0, 4.0]


# ---------------------------------------------------------------- streams and the schema


def test_a_stream_goes_on_after_a_bad_line():
    data = "norm2(X*w)^2\nX*w\nsum(exp(w))\n"
    code, out, _ = invoke("grad", "-", "--shape", "X=m,n; w=n", "--format", "json", input=data)
    assert code == 1
    got = records(out)
    assert [r["line"] for r in got] == [1, 2, 3]
    assert "error" in got[1] and got[2]["gradient"] == ["exp(w)"]


def _schema():
    return json.loads(files("symgrad").joinpath("schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "args, kind",
    [
        (["grad", *LSQ], "matrix_grad"),
        (["grad", *LSQ, "--cse"], "matrix_grad"),
        (["grad", *LSQ, "--wrt", "w,z", "--at", "X=[[1, 2]], w=[1, 2], y=[3], z=1"], "matrix_grad"),
        (["jacobian", "softmax(W*x)", "--shape", "W=m,n; x=n"], "matrix_jacobian"),
        (["jacobian", "A*x", "--shape", "A=2,2; x=2", "--at", "A=[[1, 0], [0, 1]], x=[1, 2]"],
         "matrix_jacobian"),
        (["check", *LSQ, "--claim", "0", "--claim", "0", "--claim", "0"], "matrix_check"),
        (["check", *LSQ, "--at", "X=[[1, 2]], w=[1, 2], y=[3]"], "matrix_check"),
        (["codegen", *LSQ], "matrix_code"),
    ],
)  # fmt: skip
def test_records_match_the_json_schema(args, kind):
    jsonschema = pytest.importorskip("jsonschema")
    _, out, _ = invoke(*args, "--format", "json")
    (record,) = records(out)
    jsonschema.Draft202012Validator(_schema()).validate(record)
    jsonschema.Draft202012Validator({**_schema(), "$ref": f"#/$defs/{kind}"}).validate(record)


def test_the_installed_command_line():
    proc = subprocess.run(
        [sys.executable, "-m", "symgrad", "grad", "x'*A*x", "--wrt", "x", "--shape", "A=n,n",
         "--shape", "x=n"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.splitlines()[-1] == "df/dx = (A + A')*x"
