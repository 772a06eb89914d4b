"""The Python API in a notebook's hands: results that display themselves, evaluation and
substitution by name, and a documented example for every exported name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sympy as sp

import symgrad
from symgrad import (
    check_claim,
    codegen,
    derivative,
    evaluate_gradient,
    gradient,
    hessian,
    jacobian,
    symbol,
)
from symgrad.results import Shown

ROOT = Path(__file__).resolve().parent.parent

RESULTS = {
    "Gradient": lambda: gradient("y*log(w*x + b)", "w,b"),
    "Gradient with cse": lambda: gradient("tanh(w*x + b)^2", cse=True),
    "Gradient with a note": lambda: gradient("w*x", "W,x"),
    "Hessian": lambda: hessian("x^2*y", "x,y"),
    "Jacobian": lambda: jacobian("softmax(a, b)"),
    "Derivative": lambda: derivative("sin(x)", "x", order=3),
    "GradientAt": lambda: gradient("log(x)*y").at(x=-1, y=2),
    "ValuesAt": lambda: hessian("x^2*y").at(x=1, y=2),
    "CheckResult": lambda: check_claim("(y - w*x)^2", ["2*(y - w*x)*x"], "w"),
    "ClaimVerdict": lambda: check_claim("x^2", ["2*x"]).claims[0],
    "Code": lambda: codegen("w*x + b", "w"),
}


class Printer:
    """The part of IPython's pretty printer a result uses."""

    def __init__(self):
        self.parts: list[str] = []

    def text(self, text: str) -> None:
        self.parts.append(text)


@pytest.mark.parametrize("kind", RESULTS)
def test_every_result_shows_itself_as_latex_and_as_text(kind):
    result = RESULTS[kind]()
    assert isinstance(result, Shown)
    latex = result._repr_latex_()
    assert latex.startswith("$") and latex.endswith("$")
    assert latex.count("{") == latex.count("}")
    printer = Printer()
    result._repr_pretty_(printer, False)
    assert printer.parts and "\x1b" not in printer.parts[0]
    cycle = Printer()
    result._repr_pretty_(cycle, True)
    assert cycle.parts == [f"{type(result).__name__}(...)"]


def test_a_gradient_shows_each_partial_as_a_fraction_of_partials():
    latex = gradient("w^2*x + b", "w,b")._repr_latex_()
    assert r"\frac{\partial f}{\partial w} &= 2 w x" in latex
    assert r"\frac{\partial f}{\partial b} &= 1" in latex
    printer = Printer()
    gradient("w^2*x + b", "w,b")._repr_pretty_(printer, False)
    assert printer.parts == ["f = b + w**2*x\ndf/dw = 2*w*x\ndf/db = 1"]


def test_notes_and_words_are_escaped_for_latex():
    latex = gradient("x_1*y", "x1")._repr_latex_()
    assert r"\text{note: 'x1' does not appear in x\_1*y" in latex


def test_ipython_renders_a_gradient_as_latex():
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _ = formatters.DisplayFormatter().format(gradient("sigmoid(w*x + b)", "w"))
    assert r"\frac{\partial f}{\partial w}" in data["text/latex"]
    assert data["text/plain"] == (
        "f = sigmoid(b + w*x)\ndf/dw = x*sigmoid(b + w*x)*(1 - sigmoid(b + w*x))"
    )


def test_at_evaluates_by_name_or_text_like_evaluate_gradient():
    g = gradient("y*log(w*x+b)", "w,b")
    by_name = g.at(w=1, x=2, y=3, b=0.5)
    assert by_name == g.at("w=1,x=2,y=3,b=0.5") == g.at({"w": 1, "x": 2, "y": 3, "b": 0.5})
    assert by_name == evaluate_gradient(g, "w=1,x=2,y=3,b=0.5")
    assert by_name.gradient_value == (2.4, 1.2)
    assert derivative("x^3", "x", 2).at(x=2).values == 12.0
    assert jacobian("[x*y, x + y]").at(x=2, y=3).values == ((3.0, 2.0), (1.0, 1.0))


def test_subs_and_diff_take_names():
    g = gradient("w^2*x + b", "w,b")
    assert g.subs(x=3).partials == (6 * symbol("w"), 1)
    assert g.subs({"x": 3, "w": 1}).partials == (6, 1)
    assert g.subs({symbol("x"): 3}).partials == g.subs(x=3).partials
    assert g.diff("w") == g.diff(symbol("w")) == (2 * symbol("x"), 0)
    # sympy's own subs makes a symbol without assumptions: symgrad.symbol is the real one
    assert g.partials[0].subs({symbol("x"): 3}) == 6 * symbol("w")
    assert g.partials[0].subs({"x": 3}) == g.partials[0]


def test_subs_keeps_shared_subexpressions_consistent():
    g = gradient("tanh(w*x + b)^2", "w,b", cse=True).subs(x=2)
    assert all(not form.has(symbol("x")) for _, form in g.cse)
    assert all(not p.has(symbol("x")) for p in g.partials)


def _api_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "api.md").read_text()
    sections = re.split(r"^#{2,3} ", text, flags=re.M)
    return {s.split("\n", 1)[0]: s for s in sections[1:]}


@pytest.mark.parametrize("name", [n for n in symgrad.__all__ if n != "__version__"])
def test_every_exported_name_has_a_section_with_an_example(name):
    sections = [body for head, body in _api_sections().items() if f"`{name}" in head]
    assert sections, f"docs/api.md has no section on {name}"
    assert any(">>> " in body for body in sections), f"the section on {name} has no example"


def test_every_exported_name_loads():
    for name in symgrad.__all__:
        assert getattr(symgrad, name) is not None
    assert isinstance(symgrad.parse("x"), sp.Symbol)
