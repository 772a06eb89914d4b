"""LaTeX in and out: the reader's syntax, the seed's formulas, limits, and output that compiles
with a real LaTeX engine (when one is installed) and reads back with symgrad's own reader."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import sympy as sp
from typer.testing import CliRunner

from symgrad import gradient, parse
from symgrad.cli.app import app
from symgrad.derive import hessian
from symgrad.errors import LimitError, ParseError
from symgrad.functions import SoftmaxOutput, symbol
from symgrad.notation import expr_latex
from symgrad.parsing import parse_input
from symgrad.parsing.latex import parse_latex

runner = CliRunner()


def same(got: sp.Expr, expected: sp.Expr) -> bool:
    return got == expected or sp.simplify(got - expected) == 0


ACCEPTED = [
    # (LaTeX, the same expression in plain syntax)
    ("wx + b", "w*x + b"),
    ("$y = wx + b$", "w*x + b"),
    ("$$f(w, b) = wx + b$$", "w*x + b"),
    (r"\(x^2\)", "x^2"),
    ("w^2x", "w^2*x"),
    ("x^{10}", "x^10"),
    ("e^wx", "exp(w)*x"),
    ("e^{-x^2}", "exp(-x^2)"),
    ("e^-x", "exp(-x)"),
    ("2xy", "2*x*y"),
    ("2.5x", "2.5*x"),
    (r"\frac{y}{wx+b}x", "y/(w*x + b)*x"),
    (r"\frac12 x", "x/2"),
    (r"\dfrac{1}{1+e^{-z}}", "1/(1 + exp(-z))"),
    (r"a \cdot b \times c", "a*b*c"),
    (r"\sqrt{x^2+1}", "sqrt(x^2 + 1)"),
    (r"\sqrt[3]{x}", "cbrt(x)"),
    (r"\log(x) + \ln x + \exp(y)", "log(x) + log(x) + exp(y)"),
    (r"\log_2 x", "log(x, 2)"),
    (r"\log_{10}(x)", "log(x, 10)"),
    ("ylog(wx+b)", "y*log(w*x + b)"),
    ("sigmoid(z)", "sigmoid(z)"),
    (r"\sin^2 x + \cos^{2}(x)", "sin(x)^2 + cos(x)^2"),
    (r"\sin 2x \cos x", "sin(2*x)*cos(x)"),
    (r"\sin^{-1} x", "asin(x)"),
    (r"\sigma(wx + b)", "sigmoid(w*x + b)"),
    (r"\sigma^2", "sigma^2"),
    (r"\sigma^{2}\left(x\right)", "sigmoid(x)^2"),
    (r"\left(x+1\right)\left[y-1\right]", "(x + 1)*(y - 1)"),
    ("[y-(xw+b)]^2", "(y - (x*w + b))^2"),
    (r"\left|x\right| + |y|", "abs(x) + abs(y)"),
    (r"\alpha\beta + \theta_t", "alpha*beta + theta_t"),
    ("θx", "theta*x"),
    (r"\pi r^2", "pi*r^2"),
    ("x_1 + x_{10} + w_{ij}", "x_1 + x_10 + w_ij"),
    (r"\mathit{lr} \cdot g", "lr*g"),
    (r"\operatorname{relu}(x) + \operatorname{softplus}(y)", "relu(x) + softplus(y)"),
    (r"\max(x, y)", "max(x, y)"),
    (r"\operatorname{softmax}\left(a, b, c\right)_{1} y", "softmax(a, b, c)[1]*y"),
    (r"\theta_{t} - \alpha \, g", "theta_t - alpha*g"),
    ("{x}^{y^{z}}", "x^y^z"),
    (r"\frac.5 2", "0.5/2"),
    (r"\theta_{t+1} = \theta_t - \alpha g_t", "theta_t - alpha*g_t"),
]


@pytest.mark.parametrize("tex, plain", ACCEPTED)
def test_accepted(tex, plain):
    assert same(parse_latex(tex), parse(plain)), (parse_latex(tex), parse(plain))


def test_vectors():
    a, b = symbol("a"), symbol("b")
    assert parse_latex(r"\operatorname{softmax}(a, b)") == sp.ImmutableMatrix(
        [SoftmaxOutput(0, a, b), SoftmaxOutput(1, a, b)]
    )
    assert parse_latex(r"\begin{pmatrix} xy \\ x + y \end{pmatrix}") == parse("[x*y, x + y]")


# The seed's five formulas, pasted as written, and the partials the notes give for each.
# $f[y-(xw+b)]$ and $f(ylog(wx+b))$ name the function f: the formula is what f wraps. The notes'
# gradient for the fourth is of the squared residual (with a sign error); pasted with its square,
# [y-(xw+b)]^2, it is the plain (y - (x*w + b))^2.
SEED = [
    ("$y=wx+b$", "w*x + b", ["x", "1"]),
    ("$y=w^2x+b^2$", "w^2*x + b^2", ["2xw", "2b"]),
    ("$y=e^wx+e^b$", "e^w*x + e^b", ["e^wx", "e^b"]),
    ("$f[y-(xw+b)]$", "y - (x*w + b)", ["-x", "-1"]),
    ("$[y-(xw+b)]^2$", "(y - (x*w + b))^2", ["-2(y-xw-b)x", "-2(y-wx-b)"]),
    ("$f(ylog(wx+b))$", "y*log(w*x + b)", [r"\frac{y}{wx+b}x", r"\frac{y}{wx+b}"]),
]


@pytest.mark.parametrize("tex, plain, partials", SEED)
def test_seed_formulas_parse_as_meant_and_their_gradients_match(tex, plain, partials):
    from_latex = gradient(parse_latex(tex), "w,b")
    from_plain = gradient(plain, "w,b")
    assert same(from_latex.expression, from_plain.expression)
    for got, expected, claimed in zip(from_latex.partials, from_plain.partials, partials):
        assert same(got, expected)
        assert same(got, parse_latex(claimed))


def test_the_notes_sign_error_in_latex():
    # the notes claim $2(y-xw-b)x$ for the square: symgrad finds its negative
    got = gradient(parse_latex("[y-(xw+b)]^2"), "w").partials[0]
    assert same(got, -parse_latex("2(y-xw-b)x"))


REJECTED = [
    # (LaTeX, column, words)
    ("x^10", 3, "write ^{10}"),
    ("x_10", 3, "write _{10}"),
    ("x2", 2, "missing operator"),
    (r"\sum_i x_i", 1, "sums over an index"),
    (r"\sum_{i=1}^{n} x_i", 1, "sums over an index"),  # said before its braces fail
    (r"\frac{1}{n}\sum_{i=1}^{n} (y_i - w x_i)^2", 12, "sums over an index"),
    (r"\prod_{i=1}^n x_i", 1, "products over an index"),
    (r"\partial f", 1, "write the function itself"),
    (r"\input{/etc/passwd}", 1, "unknown LaTeX command \\input"),
    (r"\def\x{1}", 1, "unknown LaTeX command"),
    ("x^{y}^{z}", 6, "double superscript"),
    (r"\frac{1}{0}", 9, "division by zero"),
    ("(x+1", 1, "never closed"),
    (r"\left(x\right]", 14, "closed by"),
    ("x + 1)", 6, "nothing opened it"),
    ("x = y = z", 7, "one formula"),
    ("x + 1 = y", 7, "one formula"),
    ("$x$ + $y$", 3, "one formula"),
    ("$ $", 1, "empty formula"),
    (r"\, \quad", 9, "ends too early"),
    ("y =", 3, "nothing after"),
    (r"\log", 1, "needs an argument"),
    (r"\operatorname{softmax}(a, b) + 1", 1, "is a vector"),
    (r"\begin{pmatrix} a & b \end{pmatrix}", 19, "column vector"),
    ("x @ y", 3, "unexpected character"),
]


@pytest.mark.parametrize("tex, column, words", REJECTED)
def test_rejected(tex, column, words):
    with pytest.raises(ParseError) as info:
        parse_latex(tex)
    assert info.value.column == column, info.value.message
    assert words in info.value.message


@pytest.mark.parametrize(
    "tex",
    [
        r"\left(" * 3000 + "x" + r"\right)" * 3000,
        "{" * 3000 + "x" + "}" * 3000,
        r"\sqrt{" * 3000 + "x" + "}" * 3000,
        r"\sin " * 3000 + "x",
        "e^{" * 3000 + "x" + "}" * 3000,
        "10^{10^{10}}",
        "9" * 5000,
        "x" * 200_000,
    ],
)
def test_hostile_input_hits_a_limit_not_a_recursion_error(tex):
    with pytest.raises(LimitError):
        parse_latex(tex)


def test_detection_keeps_plain_syntax_plain():
    assert parse_input("wx") == symbol("wx")  # a plain name is never split
    assert parse_input("$wx$") == symbol("w") * symbol("x")
    assert parse_input("wx", latex=True) == symbol("w") * symbol("x")


# ---------------------------------------------------------------- LaTeX out


def _unscored(expr):
    # x1 and x_1 both print as x_{1}, which reads back as x_1
    return expr.xreplace({s: symbol(s.name.replace("_", "")) for s in expr.free_symbols})


ROUND_TRIP = [
    "y*log(w*x+b)",
    "sigmoid(w*x+b)",
    "abs(x)/(1+x^2)",
    "relu(x)*softplus(y)",
    "x^y^w",
    "atan2(y, x)",
    "max(x, y)",
    "log(x, 10)",
    "exp(-x^2/2)/sqrt(2*pi)",
    "θ^2*x1 + lr*w_1",
    "asin(x)*acosh(y)",
    "softmax(a, b, c)[1]*y",
    "x^(3/2) + cbrt(x) + tanh(x)^2",
    "sign(x)*erf(x) + Heaviside(y)",
    "0.25*x + 1e-3*y",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_latex_output_reads_back_to_the_same_expression(text):
    g = gradient(text)
    h = hessian(text)
    for e in (g.expression, *g.partials, *(entry for row in h.matrix for entry in row)):
        back = parse_latex(expr_latex(e))
        assert same(_unscored(back), _unscored(e)), (expr_latex(e), back, e)


COMMANDS = [
    ["grad", "y*log(w*x+b)", "--wrt", "w,b"],
    ["grad", "wx*theta1 + abs(x)"],
    ["hessian", "sigmoid(w*x + b)", "--wrt", "w,b"],
    ["hessian", "max(x, y)*atan2(y, x)"],
    ["jacobian", "softmax(a, b, c)"],
    ["jacobian", "[r*cos(t), r*sin(t)]"],
    ["diff", "x^3*y^2", "--wrt", "x,x,y"],
    ["diff", "relu(x)", "--order", "3"],
    ["grad", "$f(ylog(wx+b))$"],
]


def _latex_lines(args) -> list[str]:
    result = runner.invoke(app, [*args, "--format", "latex"])
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("args", COMMANDS)
def test_latex_output_of_every_command_reads_back(args):
    for line in _latex_lines(args):
        rhs = line.split(" = ", 1)[1]
        if "&" in rhs:  # a matrix: the reader takes vectors, so read it cell by cell
            inner = rhs.removeprefix(r"\begin{pmatrix}").removesuffix(r"\end{pmatrix}")
            cells = [cell for row in inner.split(r" \\ ") for cell in row.split(" & ")]
            assert all(parse_latex(cell) is not None for cell in cells)
        else:
            assert parse_latex(rhs) is not None


ENGINE = shutil.which("pdflatex") or shutil.which("latex")


@pytest.mark.skipif(ENGINE is None, reason="no LaTeX engine on PATH")
def test_latex_output_of_every_command_compiles(tmp_path):
    body = "\n".join(rf"\[ {line} \]" for args in COMMANDS for line in _latex_lines(args))
    doc = tmp_path / "out.tex"
    doc.write_text(
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        f"{body}\n\\end{{document}}\n"
    )
    proc = subprocess.run(
        [ENGINE, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", doc.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]


# ---------------------------------------------------------------- the command line


def test_cli_detects_latex_and_shows_what_it_read():
    result = runner.invoke(app, ["grad", r"$\frac{y}{wx+b}x$", "--wrt", "w,b"])
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "f = x*y/(b + w*x)",
        "df/dw = -x**2*y/(b + w*x)**2",
        "df/db = -x*y/(b + w*x)**2",
    ]


def test_cli_latex_flag_splits_letters():
    result = runner.invoke(app, ["grad", "y = wx + b", "--latex", "--format", "json"])
    assert result.exit_code == 0
    assert '"expression": "b + w*x"' in result.stdout


def test_cli_latex_error_is_one_line_with_a_column():
    result = runner.invoke(app, ["grad", r"$\frac{1}{0}$"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == "symgrad: parse error at column 10: division by zero"
