"""plot: sampled values equal grad --at, poles and jumps are never bridged, kinks are marked,
terminal charts fit 40/80/200 columns without ANSI bytes, and files are valid pictures."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.resources import files

import pytest
from hypothesis import HealthCheck, assume, given, settings

from symgrad import evaluate_gradient, parse
from symgrad.derive.partial import variables
from symgrad.errors import InputError, SymgradError, VariableError
from symgrad.functions import symbol
from symgrad.numeric.plotdata import around_path, field, parse_range, sample
from symgrad.printing import render
from symgrad.printing.plot import save_descent, save_plot, terminal_chart
from tests.test_differentiate import _expressions

CURVES = [
    ("sigmoid(x)", "-100:100", None),
    ("x^4 - 3*x^2 + x", "-2:2", None),
    ("1/x", "-3:3", None),
    ("tan(x)", "-3:3", None),
    ("log(x)", "-1:4", None),
    ("abs(x - 1)*x + relu(x)", "-2:3", None),
    ("y*log(w*x + b)", "0.1:3", "y=2,b=0.5,x=1.5"),
    ("sqrt(x)", "-1:4", None),
]


def same(a: float | None, b: float | None) -> bool:
    """Equal as grad --at prints them: both undefined, or equal to the last bit or two (the
    generated code may share subexpressions differently)."""
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-13, abs_tol=1e-300)


def var_of(text: str, at) -> str:
    return "w" if at else "x"


@pytest.mark.parametrize("text, span, at", CURVES)
def test_samples_equal_grad_at(text, span, at):
    var = var_of(text, at)
    data = sample(text, var, span, at=at, points=41)
    f, d = data.curves
    fixed = dict(data.at)
    for i in range(0, len(data.x), 5):
        point = {**fixed, var: data.x[i]}
        want = evaluate_gradient(text, point, var)
        assert same(f.values[i], want.value)
        # outside f's domain grad --at may still give the formula's number (exit 4, with a
        # note); the plot draws no derivative where it draws no f
        drawn = want.gradient_value[0] if want.value is not None else None
        assert same(d.values[i], drawn), (data.x[i], d.values[i], want)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_expressions())
def test_generated_curves_equal_grad_at(text):
    try:
        expr = parse(text)
    except SymgradError:
        assume(False)
    assume(symbol("x") in expr.free_symbols)
    others = {v.name: 0.7 for v in variables(expr) if v.name != "x"}
    data = sample(expr, "x", (-2, 2), at=others, points=9)
    for i, x in enumerate(data.x):
        want = evaluate_gradient(expr, {**others, "x": x}, "x")
        assert same(data.curves[0].values[i], want.value)
        drawn = want.gradient_value[0] if want.value is not None else None
        assert same(data.curves[1].values[i], drawn)


def test_a_descent_path_gets_a_window_around_it():
    from symgrad.numeric.descend import descend

    curve = around_path(descend("(x - 1)^2", "x=3", lr=0.1))
    assert curve.x[0] < 1 < 3 < curve.x[-1]
    grid = around_path(descend("(1-x)^2 + 100*(y-x^2)^2", "x=-1.5,y=2", optimizer="adam"))
    assert grid.x[0] < -1.5 and grid.x[-1] > 1 and grid.y[0] < 1 < 2 < grid.y[-1]
    assert around_path(descend("x^2 + y^2 + z^2", "x=1,y=1,z=1", lr=0.1)) is None


def test_the_middle_of_a_symmetric_range_is_sampled_and_a_kink_there_is_undefined():
    data = sample("abs(x)", "x", (-1, 1))
    middle = len(data.x) // 2
    assert data.x[middle] == 0
    assert data.curves[1].values[middle] is None  # grad --at: not defined at the kink
    assert [(k.x, k.value, k.jump) for k in data.kinks] == [(0.0, 0.0, False)]


@pytest.mark.parametrize(
    "text, span, poles",
    [("1/x", (-3, 3), [0.0]), ("tan(x)", (-3, 3), [-math.pi / 2, math.pi / 2]),
     ("1/(x^2 - 1)", (-2, 2), [-1.0, 1.0]), ("sign(x - 0.3)", (-1, 1), [0.3])],
)  # fmt: skip
def test_no_line_bridges_a_pole_or_a_jump(text, span, poles):
    data = sample(text, "x", span, points=400)  # even: no sample on the poles
    f = data.curves[0]
    for xs, _ in f.pieces(data.x):
        for p in poles:
            assert not (xs[0] < p < xs[-1]), (p, xs[0], xs[-1])
    assert len(f.pieces(data.x)) == len(poles) + 1


def test_a_steep_but_continuous_curve_is_one_line():
    data = sample("sigmoid(x)", "x", (-100, 100), points=101)
    assert len(data.curves[0].pieces(data.x)) == 1
    assert len(data.curves[1].pieces(data.x)) == 1


def test_a_domain_gap_leaves_no_line_there():
    data = sample("log(x)", "x", (-1, 4), points=51)
    (xs, ys), = data.curves[0].pieces(data.x)  # fmt: skip
    assert xs[0] > 0 and all(y is not None for y in ys)


def test_outside_the_domain_of_f_neither_f_nor_its_derivative_is_drawn():
    """log(x) has no derivative at x < 0, though the formula 1/x has a value there; as with
    grad --at, neither is drawn, and a note says where f is undefined."""
    data = sample("log(x)", "x", (-5, -1), points=9)
    assert all(v is None for c in data.curves for v in c.values)
    assert data.notes == ("f is undefined everywhere in [-5, -1]: choose a --range in its domain",)
    data = sample("sqrt(x)", "x", (-1, 1), points=21)
    f, d = data.curves
    for x, fx, dx in zip(data.x, f.values, d.values):
        want = evaluate_gradient("sqrt(x)", {"x": x}, "x")
        assert same(fx, want.value) and (fx is None) == (x < 0)
        assert same(dx, want.gradient_value[0] if x >= 0 else None)
    assert any(n.startswith("f is undefined on 48% of [-1, 1]") for n in data.notes)


def test_sigmoid_over_100_shows_the_vanishing_gradient():
    data = sample("sigmoid(x)", "x", "-100:100")
    (note,) = data.notes
    assert "vanishes" in note and "93%" in note
    chart = terminal_chart(data, width=80)
    assert "vanishes" in chart


@pytest.mark.parametrize("width", [40, 80, 200])
@pytest.mark.parametrize("text", ["sigmoid(x)", "1/x", "abs(x)"])
def test_terminal_chart_fits_the_width_and_has_no_ansi_bytes(text, width):
    chart = terminal_chart(sample(text, "x", (-5, 5)), width=width)
    lines = chart.split("\n")
    assert "\x1b" not in chart
    assert all(len(line) <= width for line in lines if not line.startswith("note:"))
    assert any("⠀" in line or "⣀" in line for line in lines)  # braille dots: a drawing
    assert "df/dx" in chart


def test_terminal_chart_in_colour_uses_ansi(monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # plotille colours only a terminal by itself
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in terminal_chart(sample("x^2", "x", (-1, 1)), color=True)


def test_fields_hold_f_and_the_gradient_at_grid_points():
    data = field("x^2*y + sin(y)", "x,y", "-2:2,-1:1", points=5)
    for j, y in enumerate(data.y):
        for i, x in enumerate(data.x):
            want = evaluate_gradient("x^2*y + sin(y)", {"x": x, "y": y}, "x,y")
            assert data.f[j][i] == pytest.approx(want.value, rel=1e-12, abs=1e-15)
            for k in (0, 1):
                assert data.gradient[k][j][i] == pytest.approx(
                    want.gradient_value[k], rel=1e-12, abs=1e-15
                )


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: sample("x*y", "x", (-1, 1)), VariableError, "--at"),
        (lambda: sample("x*y", None, (-1, 1)), VariableError, "say which"),
        (lambda: sample("x", "x", (1, -1)), InputError, "low < high"),
        (lambda: sample("x", "z", (0, 1)), VariableError, "'z' is not in"),
        (lambda: sample("x*y", "x", (0, 1), at="x=1,y=2"), VariableError, "plotted"),
        (lambda: parse_range("-5"), InputError, "low:high"),
        (lambda: parse_range("a:2"), InputError, "range"),
        (lambda: field("x + y + z", "x,y", (0, 1)), VariableError, "--at"),
        (lambda: sample("x*y", "x,y", (0, 1)), VariableError, "draws a field"),
        (lambda: field("x*y", "x", (0, 1)), VariableError, "two variables"),
    ],
)
def test_bad_plot_requests_are_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def schema():
    return json.loads(files("symgrad").joinpath("schema.json").read_text())


def test_plot_and_field_json_match_the_schema_and_the_samples():
    jsonschema = pytest.importorskip("jsonschema")
    data = sample("1/x", "x", (-1, 1), points=4)
    record = json.loads(json.dumps(render(data, "json", source="1/x"), allow_nan=False))
    jsonschema.Draft202012Validator({**schema(), "$ref": "#/$defs/plot"}).validate(record)
    assert record["x"] == list(data.x) and record["breaks"]["f"] == [1]
    grid = field("x*y", "x,y", (-1, 1), points=3)
    record = json.loads(json.dumps(render(grid, "json", source="x*y"), allow_nan=False))
    jsonschema.Draft202012Validator({**schema(), "$ref": "#/$defs/field"}).validate(record)
    assert record["gradient"][0][0] == [-1.0, -1.0, -1.0]  # df/dx = y, y = -1 on row 0


# ---------------------------------------------------------------- files

pytest.importorskip("matplotlib")


def test_png_svg_and_pdf_files_are_valid(tmp_path):
    data = sample("1/x", "x", (-3, 3))
    png = save_plot(data, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_plot(data, tmp_path / "f.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    pdf = save_plot(data, tmp_path / "f.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_the_same_picture_gives_the_same_bytes(tmp_path):
    # the docs build regenerates its pictures: no date, no random ids
    data = sample("sigmoid(x)", "x", (-10, 10))
    for suffix in ("svg", "png", "pdf"):
        first = save_plot(data, tmp_path / f"a.{suffix}").read_bytes()
        assert save_plot(data, tmp_path / f"b.{suffix}").read_bytes() == first


def test_two_variables_draw_contours_and_gradient_arrows(tmp_path):
    svg = save_plot(field("x^2 + 3*y^2", "x,y", (-2, 2)), tmp_path / "field.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 100


def test_a_descent_path_is_drawn_over_f(tmp_path):
    from symgrad.numeric.descend import descend

    result = descend("x^4 - 3*x^2 + x", "x=2", lr=0.01, momentum=0.9)
    curve = sample("x^4 - 3*x^2 + x", "x", (-2, 2.2))
    out = save_descent(result, tmp_path / "path.png", curve=curve)
    assert out.read_bytes()[:4] == b"\x89PNG"
    result = descend("(1-x)^2 + 100*(y-x^2)^2", "x=-1.5,y=2", optimizer="adam", steps=300)
    grid = field("(1-x)^2 + 100*(y-x^2)^2", "x,y", "-2:2,-1:3")
    out = save_descent(result, tmp_path / "path.svg", field=grid)
    assert ET.parse(out).getroot().tag.endswith("svg")


def test_an_unknown_file_suffix_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"\.png, \.svg or \.pdf"):
        save_plot(sample("x", "x", (0, 1)), tmp_path / "f.jpg")


def test_without_matplotlib_the_message_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(InputError, match=r'pip install "symgrad\[plot\]"'):
        save_plot(sample("x", "x", (0, 1)), tmp_path / "f.png")


def test_help_imports_neither_matplotlib_nor_plotille():
    code = (
        "import sys\n"
        "from symgrad.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('matplotlib', 'plotille') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_the_drawing_modules_import_no_plotting_library_until_they_draw():
    code = (
        "import sys\n"
        "import symgrad.printing.plot, symgrad.printing.learn, symgrad.numeric.plotdata\n"
        "import symgrad.printing.text, symgrad.printing.json, symgrad.printing.pretty\n"
        "print(sorted(m for m in ('matplotlib', 'plotille') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stderr


def test_a_sample_exactly_on_a_pole_is_not_drawn_even_where_floats_give_a_number():
    """tanh(y/x) at x = 0 is tanh(inf) = 1 in floats, but undefined: as grad --at says."""
    data = sample("tanh(y/x)", "x", (-1, 1), at="y=0.5", points=5)
    assert data.x[2] == 0.0
    assert data.curves[0].values[2] is None and data.curves[1].values[2] is None
    assert evaluate_gradient("tanh(y/x)", {"x": 0.0, "y": 0.5}, "x").value is None
    assert all(v is not None for k, v in enumerate(data.curves[0].values) if k != 2)
