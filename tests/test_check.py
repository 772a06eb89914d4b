"""Verdicts: the seed's sign error, wrong derivatives of every kind, equivalent forms, smooth
points that must pass and kinks and domains that must not."""

from __future__ import annotations

import random

import pytest
import sympy as sp

from symgrad import gradient, parse
from symgrad.errors import InputError, ParseError, VariableError
from symgrad.notation import expr_text
from symgrad.numeric.check import check_claim, check_gradient

# ---------------------------------------------------------------- the seed's sign error


def test_the_seed_sign_error_is_caught_with_a_counterexample():
    result = check_claim("(y - (x*w + b))^2", ["2*(y-x*w-b)*x", "2*(y-w*x-b)"], "w,b")
    assert result.status == "mismatch" and result.exit_code == 1 and not result.ok
    for claim in result.claims:
        assert claim.status == "mismatch"
        assert claim.hint == "off by a factor of -1 (a sign error)"
        assert claim.claimed_value == -claim.true_value != 0
        assert claim.difference == claim.claimed_value - claim.true_value
        assert abs(claim.finite_difference - claim.true_value) < 1e-6 * abs(claim.true_value)
        point = {parse(k): v for k, v in claim.counterexample.items()}
        assert float(claim.derivative.subs(point)) == pytest.approx(claim.true_value)
    # the gradient itself agrees with finite differences: only the claims are wrong
    assert result.gradient_status == "pass"


# ---------------------------------------------------------------- equivalent forms pass

EQUIVALENT = [
    ("(y - (x*w + b))^2", "w,b", ["2*(b + w*x - y)*x", "-2*(y - w*x - b)"]),
    ("(y - (x*w + b))^2", "w,b", ["-2*x*(y - w*x - b)", "2*b + 2*w*x - 2*y"]),
    ("y*log(w*x + b)", "w,b", ["y/(w*x + b)*x", "y/(w*x + b)"]),
    ("sigmoid(x)", "x", ["sigmoid(x)*(1 - sigmoid(x))"]),
    ("sigmoid(x)", "x", ["exp(-x)/(1 + exp(-x))^2"]),
    ("tanh(x)", "x", ["1/cosh(x)^2"]),
    ("softplus(x)", "x", ["1/(1 + exp(-x))"]),
    ("relu(x)", "x", ["Heaviside(x)"]),
    ("abs(x)", "x", ["x/abs(x)"]),
    ("x^2*y", "x,y", ["2*x*y", "x*x"]),
    ("sin(x)^2", "x", ["sin(2*x)"]),
    ("exp(w)*x + exp(b)", "w,b", ["e^w*x", "e^b"]),
    ("log(x^2 + 1)", "x", ["2*x/(x^2 + 1)"]),
    ("sqrt(x^2 + y^2)", "x", ["x/sqrt(x^2 + y^2)"]),
    ("atan(x)", "x", ["cos(atan(x))^2"]),
    ("x/(1 + x)", "x", ["1/(1 + x) - x/(1 + x)^2"]),
    ("(x + 1)^3", "x", ["3*x^2 + 6*x + 3"]),
    ("log(x, 2)", "x", ["1/(x*log(2))"]),
    ("silu(x)", "x", ["sigmoid(x) + x*sigmoid(x)*(1 - sigmoid(x))"]),
    ("cosh(x)^2 - sinh(x)^2 + x", "x", ["1"]),
]


@pytest.mark.parametrize("expr, wrt, claims", EQUIVALENT)
def test_equivalent_forms_pass(expr, wrt, claims):
    result = check_claim(expr, claims, wrt)
    assert result.status == "pass", [(c.claim, c.counterexample) for c in result.claims]
    assert result.exit_code == 0
    assert all(c.proof in ("symbolic", "numeric") for c in result.claims)


# ---------------------------------------------------------------- wrong derivatives fail

BASES = [
    "w*x + b",
    "w^2*x + b^2",
    "exp(w)*x + exp(b)",
    "(y - (x*w + b))^2",
    "y*log(w*x + b)",
    "sigmoid(w*x + b)",
    "tanh(w*x + b)*y",
    "softplus(w*x) + b^3",
    "sin(w*x)*cos(b)",
    "exp(-w^2*x) + b*w",
    "sqrt(w^2 + b^2)",
    "log(1 + exp(w*x + b))",
    "(w*x + b)/(1 + w^2)",
    "atan(w*x) + b^2*x",
    "x^3*w^2 - b*x*w",
    "cos(w)^2*b",
    "w^4/4 + b*w*x",
    "exp(w*b)",
    "log(w^2 + 1)*b",
    "sigmoid(w)*sigmoid(b)",
    "sin(w)*exp(b*x) + elu(w + b)",
]


def _mutations(true: sp.Expr, var: sp.Symbol) -> list[tuple[str, sp.Expr]]:
    """Deliberately wrong versions of a derivative, the mistakes a person makes."""
    out = [("sign flip", -true), ("coefficient off by 1%", sp.Float(1.01) * true)]
    out.append(("extra chain factor", true * (var + 2)))
    if true.is_Add:
        out.append(("dropped term", true - true.args[0]))
    if true.is_Mul and len(true.args) > 1:
        out.append(("dropped factor", true / true.args[-1]))
    swaps = {sp.sin: sp.cos, sp.cos: sp.sin, sp.exp: lambda a: sp.exp(-a), sp.log: sp.exp}
    swapped = true.replace(
        lambda e: type(e) in swaps and e.args[0].has(var), lambda e: swaps[type(e)](e.args[0])
    )
    if swapped != true:
        out.append(("wrong function", swapped))
    out.append(("off by one", true + 1))
    return [(kind, wrong) for kind, wrong in out if sp.expand(wrong - true) != 0]


def _wrong_cases():
    cases = []
    for base in BASES:
        grad = gradient(base, "w,b")
        for i, (var, true) in enumerate(zip(grad.wrt, grad.partials)):
            for kind, wrong in _mutations(true, var):
                claims = [expr_text(p) for p in grad.partials]
                claims[i] = expr_text(wrong)
                cases.append((base, kind, claims))
    return cases


def test_at_least_99_percent_of_wrong_derivatives_exit_1():
    cases = _wrong_cases()
    assert len(cases) >= 200
    missed = [
        (base, kind, claims)
        for base, kind, claims in cases
        if check_claim(base, claims, "w,b").exit_code != 1
    ]
    assert len(missed) <= 0.01 * len(cases), missed


# ---------------------------------------------------------------- smooth points pass

SMOOTH = [
    "y*log(x^2 + 0.5)",
    "sigmoid(3*x + y)",
    "(y - (2*x + 1))^2",
    "softplus(x)*tanh(y)",
    "exp(-x^2/2)/sqrt(2*pi)",
    "sin(x*y) + cos(x)^3",
    "x^y",
    "sqrt(x^2 + y^2 + 1)",
    "atan2(y, x)",
    "log(1 + x^2)*erf(y)",
    "1/(1 + x^2 + y^4)",
    "asinh(x) + atan(y)",
    "exp(x)*sin(y) + 1e3*x",
    "x^10 - y^7",
    "silu(x*y)",
    "tan(x/4)",
    "cosh(x) - sinh(y)",
    "(x + y)^(3/2)",
    "log(x^2 + y^2)",
    "sigmoid(x)*sigmoid(-y)",
    "x/y",
    "asin(x/4)",
    "1e8 + x*y",
    "exp(3*x)*y^2",
    "x*abs(y) + relu(x)",
]


def _smooth_pairs():
    rng = random.Random(7)
    pairs = []
    for expr in SMOOTH:
        names = [s.name for s in parse(expr).free_symbols]
        for _ in range(10):
            at = {n: rng.choice([-1, 1]) * rng.uniform(0.2, 3) for n in names}
            pairs.append((expr, at))
    return pairs


def test_no_false_mismatch_on_smooth_points():
    pairs = _smooth_pairs()
    assert len(pairs) >= 200
    verdicts = {}
    for expr, at in pairs:
        result = check_gradient(expr, at=at)
        verdicts[(expr, str(at))] = result.status
    failed = {k: v for k, v in verdicts.items() if v == "mismatch"}
    assert not failed
    # outside the domain is allowed to be unverifiable, never a mismatch; most must pass
    assert sum(v == "pass" for v in verdicts.values()) >= 200


@pytest.mark.parametrize("expr", SMOOTH)
def test_random_points_inside_the_domain_pass(expr):
    result = check_gradient(expr, points=2000, seed=3)
    assert result.status == "pass", (result.max_rel_error, result.worst_point)
    assert result.points >= 2000


# ---------------------------------------------------------------- kinks and domains

NOT_VERIFIABLE = [
    ("relu(x)", "x=0", "left derivative 0, right derivative 1"),
    ("abs(x - 1)*y", "x=1,y=2", "left derivative -2, right derivative 2"),
    ("relu(w*x + b)", "w=1,x=1,b=-1", "b + w*x = 0"),
    ("max(x, y)", "x=2,y=2", "subgradients [0, 1]"),
    ("log(x)", "x=-1", "log(x) needs x > 0, but x = -1 here"),
    ("sqrt(x)", "x=-4", "sqrt(x) needs x >= 0"),
    ("1/x", "x=0", "1/x needs x != 0"),
    ("asin(x)", "x=1.5", "needs -1 <= x <= 1"),
    ("Heaviside(x)", "x=0", "f jumps where x = 0"),
]


@pytest.mark.parametrize("expr, at, words", NOT_VERIFIABLE)
def test_kinks_and_domains_are_unverifiable_never_pass(expr, at, words):
    result = check_gradient(expr, at=at)
    assert result.status == "unverifiable" and result.exit_code == 4
    assert any(words in note for note in result.notes), result.notes


def test_claims_at_a_kink_are_unverifiable_too():
    result = check_claim("relu(x)", ["0"], at="x=0")
    assert result.status == "unverifiable" and result.claims[0].status == "unverifiable"


def test_an_empty_domain_is_unverifiable():
    result = check_gradient("sqrt(-x^2 - 1)")
    assert result.status == "unverifiable"
    assert "found no point" in result.notes[0]


def test_a_narrow_domain_still_gets_its_points():
    result = check_gradient("acosh(x) + sqrt(x - 20)", points=500)
    assert result.status == "pass" and result.points >= 500


# ---------------------------------------------------------------- hints

HINTS = [
    ("x^2*y", "x", "2*x", "missing factor y"),
    ("x^2*y", "x", "2*x*y^2", "extra factor y"),
    ("x^2", "x", "3*x", "off by a factor of 1.5"),
    ("x^2 + x", "x", "2*x", "off by a constant: the derivative is the claim + 1"),
    ("x^2 + y*x", "x", "y", "missing term 2*x"),
]


@pytest.mark.parametrize("expr, wrt, claim, hint", HINTS)
def test_the_part_that_differs_is_named(expr, wrt, claim, hint):
    result = check_claim(expr, [claim], wrt)
    assert result.claims[0].hint is not None and result.claims[0].hint.startswith(hint)


def test_a_claim_at_a_given_point():
    right = check_claim("x^2", ["2*x"], at="x=3")
    wrong = check_claim("x^2", ["2*x + 1e-3"], at="x=3")
    assert right.status == "pass" and right.at == {"x": 3.0}
    assert wrong.status == "mismatch" and wrong.claims[0].counterexample == {"x": 3.0}


# ---------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: check_claim("x*y", ["y"]), InputError, "got 1 claim for 2 variables"),
        (lambda: check_claim("x", ["z"]), VariableError, "uses z, which is not in x"),
        (lambda: check_gradient("x", points=0), InputError, "--points must be between"),
        (lambda: check_gradient("x", rtol=-1), InputError, "--rtol must be"),
        (lambda: check_gradient("x*y", at="x=1"), VariableError, "no value for y"),
    ],
)
def test_bad_requests_are_typed_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_seeds_make_checks_reproducible():
    a = check_gradient("sin(x*y)", points=50, seed=5)
    b = check_gradient("sin(x*y)", points=50, seed=5)
    assert a == b


def test_a_step_within_its_own_time_is_stopped_on_any_thread():
    import threading

    from symgrad.budget import within

    outcome = {}

    def step():
        with within(0.05) as timed_out:
            while True:  # for ever, unless stopped
                pass
        outcome["timed_out"] = timed_out()

    worker = threading.Thread(target=step)  # SIGALRM works only on the main thread; this does not
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive() and outcome == {"timed_out": True}


def test_a_step_whose_time_is_up_before_it_starts_never_leaks_its_stop():
    """A step given no time (the work's deadline is near) may be stopped while its own timer
    starts: it counts as timed out, and nothing escapes the block (an internal error, exit 70,
    on 3 of 10 Hessians that ran out of time)."""
    import threading

    from symgrad.budget import within

    escaped = []

    def steps():
        for _ in range(300):
            try:
                with within(0.0):
                    sum(range(2_000))
            except BaseException as exc:  # noqa: BLE001 - what must not happen
                escaped.append(type(exc).__name__)

    worker = threading.Thread(target=steps)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive() and escaped == []


def test_the_library_exports_the_checkers():
    import symgrad

    assert symgrad.check_claim("x^2", ["2*x"]).ok
    assert symgrad.evaluate_gradient("x^2", "x=3").gradient_value == (6.0,)


# ---------------------------------------------------------------- property: never a false alarm

UNARY = ["sin", "cos", "exp", "log", "sqrt", "tanh", "sigmoid", "softplus", "atan", "abs"]
UNARY += ["relu", "asinh", "erf", "cosh", "log10", "cbrt", "asin", "tan"]


def _random_expression(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(["x", "y", "z", "2", "3", "0.5", "1.5", "10"])
    if rng.random() < 0.35:
        return f"{rng.choice(UNARY)}({_random_expression(rng, depth - 1)})"
    op = rng.choice(["+", "-", "*", "/", "^"])
    if op == "^":
        return f"({_random_expression(rng, depth - 1)})^{rng.choice(['2', '3', '0.5', '-1', 'x'])}"
    return f"({_random_expression(rng, depth - 1)}) {op} ({_random_expression(rng, depth - 1)})"


def test_the_symbolic_gradient_never_disagrees_with_finite_differences():
    # symgrad's own derivatives are right, so any mismatch here is a false alarm of the checker
    rng = random.Random(2024)
    statuses = []
    for i in range(150):
        text = _random_expression(rng, 4)
        try:
            result = check_gradient(text, points=200, seed=i)
        except (InputError, VariableError, ParseError):
            continue  # constants, complex constants: not expressions to check
        assert result.status != "mismatch", (text, result.max_rel_error, result.worst_point)
        statuses.append(result.status)
    assert statuses.count("pass") >= 100
