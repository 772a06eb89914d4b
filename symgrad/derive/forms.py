"""Results in the form a person writes, by cheap rewrites in bounded time (never simplify).

``tidy`` tries a few forms of a derivative and keeps the shortest: the form sympy built,
common factors pulled out, a common denominator, products multiplied out and collected, and
the identities of symgrad's functions (``IDENTITIES``), so that the gradient of binary
cross-entropy reads ``sigmoid(z) - y`` and that of the logistic loss ``-y*sigmoid(-y*z)``.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.core.exprtools import factor_terms

from symgrad.errors import InputError
from symgrad.functions import LogSoftmaxOutput, SoftmaxOutput, sigmoid

# Above this many nodes a result is printed as sympy built it: the tidy-up pass is for
# expressions a person reads, and must not cost more than the derivative itself.
TIDY_MAX_NODES = 200
# Multiplying out and collecting is tried on results up to this size that hold an ML function
EXPAND_MAX_NODES = 80
# Up to this size the rewrites are bounded by the size itself; above it they run within a
# time of their own (budget.within), and the result is printed as built if that runs out
SMALL_NODES = 60
REWRITE_SECONDS = 2.0


def tidy(expr: sp.Expr) -> sp.Expr:
    """The form a person would write, by cheap rewrites only (never ``simplify``).

    Tries the identities of the ML functions (``IDENTITIES``), a common denominator, pulling
    common factors out of sums and, where an ML function appears, multiplying out and
    collecting; keeps the shortest (``(1 - 2*x**2/(x**2 + 1))/(x**2 + 1)`` becomes
    ``(1 - x**2)/(x**2 + 1)**2``); moves a minus sign into a sum whose terms are mostly
    negative.

    >>> from symgrad import parse
    >>> tidy(parse("sigmoid(z)*(1 - y) - y*(1 - sigmoid(z))"))
    -y + sigmoid(z)
    >>> tidy(parse("-y*exp(-y*z)/(1 + exp(-y*z))"))
    -y*sigmoid(-y*z)
    """
    _require_real(expr)
    survey = _survey(expr)
    if survey is None:
        return expr  # too big to read: printed as built
    kinds, size = survey
    rules = [rule for trigger, rule in IDENTITIES if trigger(kinds)]
    if not rules and sp.Add not in kinds:
        return expr  # the rewrites work on sums and the identities' functions only
    if size <= SMALL_NODES:  # bounded by its size: no timer needed
        return _tidied(expr, kinds, rules)
    from symgrad.budget import within

    with within(REWRITE_SECONDS) as timed_out:
        best = _tidied(expr, kinds, rules)
    return expr if timed_out() else best


def _tidied(expr: sp.Expr, kinds: set, rules: list) -> sp.Expr:
    rewritten = expr
    for rule in rules:
        rewritten = rule(rewritten)
    if rewritten != expr:
        # in the functions' own words (sigmoid, softmax); as built, should that be shorter
        candidates = [*_algebraic(rewritten, kinds), expr]
    else:
        candidates = _algebraic(expr, kinds)
    if len(candidates) == 1 and not rules:
        return _flip_signs(candidates[0])
    forms = dict.fromkeys(_flip_signs(_sigmoid_form(c)) for c in dict.fromkeys(candidates))
    return _as_read(_shortest(list(forms)))


def _as_read(expr: sp.Expr) -> sp.Expr:
    """``expr`` as its text reads back: the parser distributes a fraction over a sum,
    (a + b)/2 is a/2 + b/2, so a result must not hold the product 1/2*(a + b)."""

    def halved(node: sp.Expr) -> bool:
        return (
            node.is_Mul
            and len(node.args) == 2
            and node.args[0].is_Rational
            and not node.args[0].is_Integer
            and node.args[1].is_Add
        )

    return expr.replace(halved, lambda node: sp.Mul(*node.args)) if expr.has(sp.Rational) else expr


def _algebraic(expr: sp.Expr, kinds: set) -> list[sp.Expr]:
    """``expr`` and the forms cheap algebra gives it: common factors out, one denominator,
    and (where an ML function appears) products multiplied out and collected."""
    if not expr.has(sp.Add):
        return [expr]
    candidates = [factor_terms(expr), expr] if _sum_with_common_factor(expr) else [expr]
    if _sum_with_fraction(expr):  # only then can a common denominator shorten it
        combined = sp.together(expr)
        if combined != expr:
            candidates.insert(0, factor_terms(combined))
    if kinds & _ML and _count(expr) <= EXPAND_MAX_NODES:
        collected = _collected(expr)
        # multiplying out pays where the functions cancel (binary cross-entropy), not where it
        # only spreads a product: sigmoid(x)*(1 + x*(1 - sigmoid(x))) stays
        if _calls(collected) < min(_calls(c) for c in candidates):
            candidates.insert(0, collected)
    return candidates


def _calls(expr: sp.Expr) -> int:
    return sum(1 for node in sp.preorder_traversal(expr) if isinstance(node, sp.Function))


def _collected(expr: sp.Expr) -> sp.Expr:
    """Products multiplied out, like terms collected, common factors pulled out: with the
    functions held fixed, sigmoid(z)*(1 - y) - y*(1 - sigmoid(z)) is sigmoid(z) - y."""
    held = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Function) and node not in held:
            held[node] = sp.Dummy()
    flat = expr.xreplace(held)
    expanded = sp.expand_mul(flat)
    if any(sp.fraction(t)[1] != 1 for t in sp.Add.make_args(expanded)):
        expanded = sp.cancel(expanded)
    collected = sp.collect(expanded, list(held.values()))
    back = {dummy: node for node, dummy in held.items()}
    return factor_terms(collected).xreplace(back)


def _survey(expr: sp.Expr) -> tuple[set, int] | None:
    """The kinds of node in ``expr`` (Add, exp, sigmoid, ...) and its size; None past
    TIDY_MAX_NODES."""
    kinds: set = set()
    count = 0
    for count, node in enumerate(sp.preorder_traversal(expr)):  # noqa: B007 - the size
        if count > TIDY_MAX_NODES:
            return None
        if node.args:
            kinds.add(type(node))
    return kinds, count + 1


def _count(expr: sp.Expr) -> int:
    return sum(1 for _ in sp.preorder_traversal(expr))


# ---------------------------------------------------------------- identities


def _negative_sum_power(node: sp.Expr) -> bool:
    return node.is_Pow and node.exp.is_Integer and node.exp < 0 and node.base.is_Add


def _sigmoid_of_exp(expr: sp.Expr) -> sp.Expr:
    """1/(1 + exp(u)) = sigmoid(-u), and exp(u)*sigmoid(-u) = sigmoid(u): the logistic loss's
    -y*exp(-y*z)/(1 + exp(-y*z)) is -y*sigmoid(-y*z)."""
    found = {}
    for node in sp.preorder_traversal(expr):
        if _negative_sum_power(node) and len(node.base.args) == 2:
            one, other = node.base.args
            if other is sp.S.One:
                one, other = other, one
            if one is sp.S.One and isinstance(other, sp.exp):
                found[node] = sigmoid(-other.args[0]) ** -node.exp
    if not found:
        return expr
    return _in_products(expr.xreplace(found), _absorb_exp_into_sigmoid)


def _absorb_exp_into_sigmoid(factors: list[sp.Expr]) -> list[sp.Expr]:
    """exp(m*u) * sigmoid(-u)^n -> sigmoid(u)^k * exp((m - k)*u) * sigmoid(-u)^(n - k)."""
    powers = {}
    for f in factors:
        base, exponent = f.as_base_exp()
        if isinstance(base, sigmoid) and exponent.is_Integer and exponent > 0:
            powers[base] = powers.get(base, 0) + int(exponent)
    if not powers:
        return factors
    out = []
    for f in factors:
        if isinstance(f, sp.exp):
            for s, n in powers.items():
                m = sp.cancel(f.args[0] / -s.args[0])
                if n and m.is_Integer and m > 0:
                    k = min(int(m), n)
                    powers[s] = n - k
                    out.append(sigmoid(-s.args[0]) ** k)
                    f = sp.exp((m - k) * -s.args[0]) if m > k else sp.S.One
                    break
        base, exponent = f.as_base_exp()
        if not (isinstance(base, sigmoid) and base in powers):
            out.append(f)
    out += [s**n for s, n in powers.items() if n]
    return out


def _softmax_of_exp(expr: sp.Expr) -> sp.Expr:
    """exp(x_k)/(exp(x_0) + ... + exp(x_n)) = softmax(x_0, ..., x_n)[k]: the gradient of
    log(exp(a) + exp(b) + exp(c)) by a is softmax(a, b, c)[0]."""
    return _in_products(expr, _pair_exp_with_sum)


def _pair_exp_with_sum(factors: list[sp.Expr]) -> list[sp.Expr]:
    """exp(m*x_k) * (sum of exp(x_j))^-n -> softmax(...)[k]^m * (sum)^(m - n), and the same
    for a positive power of the sum with exp(-m*x_k) (1/softmax(...)[k])."""
    sums = [
        f
        for f in factors
        if f.as_base_exp()[1].is_Integer
        and f.as_base_exp()[0].is_Add
        and len(f.as_base_exp()[0].args) > 1
        and all(isinstance(t, sp.exp) for t in f.as_base_exp()[0].args)
    ]
    if not sums:
        return factors
    out = list(factors)
    for total in sums:
        base, power = total.as_base_exp()
        inputs = tuple(t.args[0] for t in base.args)
        sign = -1 if power < 0 else 1  # 1/sum pairs with exp(x_k), sum with exp(-x_k)
        left = abs(int(power))
        for i, f in enumerate(out):
            if left == 0:
                break
            if not isinstance(f, sp.exp):
                continue
            for k, x in enumerate(inputs):
                m = sp.cancel(-sign * f.args[0] / x) if x != 0 else None
                if m is not None and m.is_Integer and 0 < m <= left:
                    out[i] = SoftmaxOutput(k, *inputs) ** (-sign * m)
                    left -= int(m)
                    break
        out[out.index(total)] = base ** (sign * left) if left else sp.S.One
    return out


def _tan_of_sin_cos(expr: sp.Expr) -> sp.Expr:
    """sin(u)/cos(u) = tan(u) and sinh(u)/cosh(u) = tanh(u): log(cosh(z))' is tanh(z)."""
    pairs = ((sp.sin, sp.cos, sp.tan), (sp.sinh, sp.cosh, sp.tanh))

    def fold(factors: list[sp.Expr]) -> list[sp.Expr]:
        out = list(factors)
        for top, bottom, ratio in pairs:
            for i, f in enumerate(out):
                if isinstance(f, top):
                    below = bottom(f.args[0]) ** -1
                    if below in out:
                        out[i] = ratio(f.args[0])
                        out[out.index(below)] = sp.S.One
        return out

    return _in_products(expr, fold)


def _sigmoid_pairs(expr: sp.Expr) -> sp.Expr:
    """sigmoid(-u) is 1 - sigmoid(u) where sigmoid(u) appears too, so that like terms meet:
    -y*(1 - sigmoid(z)) - (1 - y)*(sigmoid(-z) - 1) is then sigmoid(z) - y."""
    args = {s.args[0] for s in expr.atoms(sigmoid)}
    pairs = {
        sigmoid(u): 1 - sigmoid(-u) for u in args if -u in args and u.could_extract_minus_sign()
    }
    return expr.xreplace(pairs) if pairs else expr


def _softmax_sums(expr: sp.Expr) -> sp.Expr:
    """The outputs of a softmax sum to 1: c - c*s_0 - c*s_1 is c*s_2 (of three outputs), and
    c*s_0 + c*s_1 + c*s_2 is c."""

    def fold(add: sp.Expr) -> sp.Expr:
        families: dict[tuple, dict[int, sp.Expr]] = {}
        for term in add.args:
            coeff, rest = term.as_coeff_Mul()
            if isinstance(rest, SoftmaxOutput):
                families.setdefault(rest.inputs, {})[rest.index] = coeff
        constant = add.as_coeff_Add()[0]
        for inputs, found in families.items():
            n = len(inputs)
            coeffs = set(found.values())
            if len(found) == n and len(coeffs) == 1:
                (c,) = coeffs
                kept = [t for t in add.args if t.as_coeff_Mul()[1] not in _outputs(inputs)]
                return sp.Add(*kept, c)
            # of two outputs, softmax(a, b)[0] - 1 is the literature's p - y: kept
            if n > 2 and len(found) == n - 1 and len(coeffs) == 1 and constant == -min(coeffs):
                (missing,) = set(range(n)) - set(found)
                kept = [
                    t
                    for t in add.args
                    if t is not constant and t.as_coeff_Mul()[1] not in _outputs(inputs)
                ]
                return sp.Add(*kept, constant * SoftmaxOutput(missing, *inputs))
        return add

    return expr.replace(lambda node: node.is_Add, fold)


def _outputs(inputs: tuple) -> set:
    return {SoftmaxOutput(k, *inputs) for k in range(len(inputs))}


def _delta_times_argument(expr: sp.Expr) -> sp.Expr:
    """u*DiracDelta(u) = 0: the derivative of (1 - y*z)*Heaviside(1 - y*z) has no delta term."""

    def drop(factors: list[sp.Expr]) -> list[sp.Expr]:
        for f in factors:
            if isinstance(f, sp.DiracDelta) and len(f.args) == 1:
                u = f.args[0]
                if u in factors or -u in factors:
                    return [sp.S.Zero]
        return factors

    return _in_products(expr, drop)


def _in_products(expr: sp.Expr, rule: Callable[[list], list]) -> sp.Expr:
    """``expr`` with ``rule`` applied to the factors of every product, innermost first."""

    def apply(node: sp.Expr) -> sp.Expr:
        factors = list(node.args)
        changed = rule(factors)
        return sp.Mul(*changed) if changed != factors else node

    return expr.replace(lambda node: node.is_Mul, apply)


def _sigmoid_form(expr: sp.Expr) -> sp.Expr:
    """How the literature writes a sigmoid next to its complement: sigmoid(z)*(1 - sigmoid(z))
    where sigmoid(z) appears elsewhere, sigmoid(-z) where 1 - sigmoid(z) stands alone."""
    if not expr.has(sigmoid):
        return expr
    expr = _sigmoid_pairs(expr)
    alone = {}
    for node in sp.preorder_traversal(expr):
        if node.is_Add and len(node.args) == 2 and sp.S.One in node.args:
            other = node.args[0] if node.args[1] is sp.S.One else node.args[1]
            if other.could_extract_minus_sign() and isinstance(-other, sigmoid):
                alone[node] = -other
    for complement, s in alone.items():
        rest = expr.xreplace({complement: sp.Dummy()})
        if not rest.has(s):
            expr = expr.xreplace({complement: sigmoid(-s.args[0])})
    return expr


_ML = frozenset({sigmoid, SoftmaxOutput, LogSoftmaxOutput})

# The identities of symgrad's functions, each tried where its functions appear:
# (which kinds of node trigger it, the rewrite)
IDENTITIES: tuple[tuple[Callable[[set], bool], Callable[[sp.Expr], sp.Expr]], ...] = (
    (lambda kinds: sp.exp in kinds and sp.Pow in kinds, _sigmoid_of_exp),
    (lambda kinds: sp.exp in kinds and sp.Pow in kinds, _softmax_of_exp),
    (
        lambda kinds: (
            (sp.sin in kinds and sp.cos in kinds) or (sp.sinh in kinds and sp.cosh in kinds)
        ),
        _tan_of_sin_cos,
    ),
    (lambda kinds: sigmoid in kinds, _sigmoid_pairs),
    (lambda kinds: SoftmaxOutput in kinds, _softmax_sums),
    (lambda kinds: sp.DiracDelta in kinds, _delta_times_argument),
)


def _sum_with_common_factor(expr: sp.Expr) -> bool:
    """Whether some sum in ``expr`` has terms that share a number or a base, so that
    factor_terms (the costliest step of tidy) can pull something out: 2*b + 2*w*x."""

    def bases(term: sp.Expr) -> set:
        return {f.as_base_exp()[0] for f in sp.Mul.make_args(term.as_coeff_Mul()[1])}

    for node in sp.preorder_traversal(expr):
        if not node.is_Add:
            continue
        coeffs = [t.as_coeff_Mul()[0] for t in node.args]
        if all(c.is_Rational for c in coeffs) and abs(sp.igcd(*[c.p for c in coeffs])) > 1:
            return True
        shared = bases(node.args[0])
        for term in node.args[1:]:
            shared &= bases(term)
            if not shared:
                break
        if shared:
            return True
    return False


def _sum_with_fraction(expr: sp.Expr) -> bool:
    """Whether some sum in ``expr`` has a term with a denominator: 1 - 2*x**2/(x**2 + 1),
    y/3 + 2/3."""

    def fraction(term: sp.Expr) -> bool:
        factors = term.args if term.is_Mul else (term,)
        return any(
            (f.is_Pow and f.exp.is_negative) or (f.is_Rational and not f.is_Integer)
            for f in factors
        )

    return any(
        node.is_Add and any(fraction(t) for t in node.args) for node in sp.preorder_traversal(expr)
    )


def _require_real(expr: sp.Expr) -> None:
    """A derivative must be a real, defined expression, like its input."""
    if expr.has(sp.I):
        raise InputError(
            f"a derivative is not real ({expr}): a power of a negative base such as (-1)^n is "
            "real only for whole n; symgrad works with real numbers"
        )
    if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise InputError(
            f"a derivative is undefined ({expr}): the expression is not differentiable anywhere"
        )


def _shortest(candidates: list[sp.Expr]) -> sp.Expr:
    """The form with the fewest characters when printed (estimated, as printing costs more
    than the rewrites; a complement such as 1 - sigmoid(z) counts as one unit); on a tie the
    one with fewer numbers inside sums (2*(1 - t**2) over 2 - 2*t**2), then the first."""
    return min(candidates, key=lambda c: (_chars(c) - 2 * _complements(c), _scaled_sums(c)))


def _complements(expr: sp.Expr) -> int:
    """How many 1 - sigmoid(u), 1 - tanh(u)**2, 1 - softmax(...)[k] ``expr`` holds: the
    literature's units (sigmoid(z)*(1 - sigmoid(z)) rather than sigmoid(z) - sigmoid(z)**2),
    worth their parentheses."""
    count = 0
    for node in sp.preorder_traversal(expr):
        if node.is_Add and len(node.args) == 2 and sp.S.One in node.args:
            other = node.args[0] if node.args[1] is sp.S.One else node.args[1]
            base = (-other).as_base_exp()[0] if other.could_extract_minus_sign() else None
            count += isinstance(base, (sigmoid, sp.tanh, SoftmaxOutput))
    return count


def _scaled_sums(expr: sp.Expr) -> int:
    return sum(
        1
        for node in sp.preorder_traversal(expr)
        if node.is_Add and all(t.as_coeff_Mul()[0] not in (1, -1) for t in node.args)
    )


def _chars(expr: sp.Expr) -> int:
    """About how many characters ``expr`` prints as, spaces left out."""
    if expr.is_Symbol:
        return len(expr.name)
    if expr.is_Integer:
        return len(str(expr.p))
    if expr.is_Rational:
        return len(str(expr.p)) + 1 + len(str(expr.q))
    if expr.is_Number or not expr.args:
        return len(str(expr))
    if expr.is_Add:
        return sum(_chars(t) for t in expr.args) + len(expr.args) - 1
    if expr.is_Mul:
        coeff, rest = expr.as_coeff_Mul()
        size = 1 if coeff == -1 else 0 if coeff == 1 else _chars(coeff) + 1
        factors = sp.Mul.make_args(rest)
        for f in factors:
            base, exponent = f.as_base_exp()
            if exponent.is_Number and exponent.is_negative:
                f = base**-exponent  # a denominator: one '/' instead of one '*'
            size += _chars(f) + 1 + (2 if f.is_Add else 0)
        return size - 1
    if expr.is_Pow:
        base, exponent = expr.args
        if exponent is sp.S.Half:
            return _chars(base) + 6
        if exponent.is_Number and exponent.is_negative:
            return 2 + _chars(base**-exponent)
        wrap = 2 if base.is_Add or base.is_Mul or base.is_Pow else 0
        wrap += 2 if exponent.args or (exponent.is_Rational and not exponent.is_Integer) else 0
        return _chars(base) + _chars(exponent) + 1 + wrap
    name = type(expr).__name__
    return len(name) + 1 + sum(_chars(a) + 1 for a in expr.args)


def _orientation(add: sp.Expr) -> float:
    """How much a sum wants its signs flipped: > 0 when mostly negative, and on a balance
    when that puts a number last-but-positive (s - 1 reads as 1 - s) or the term with a
    function first (y - sigmoid(z) reads as sigmoid(z) - y, prediction minus target)."""
    negative = [t for t in add.args if t.could_extract_minus_sign()]
    positive = [t for t in add.args if not t.could_extract_minus_sign()]
    score = float(len(negative) - len(positive))
    score += 0.5 * (any(t.is_Number for t in negative) - any(t.is_Number for t in positive))
    calls_below = any(t.has(sp.Function) for t in negative)
    calls_above = any(t.has(sp.Function) for t in positive)
    score += 0.25 * (calls_below and not calls_above) - 0.25 * (calls_above and not calls_below)
    return score


def _flip_signs(expr: sp.Expr) -> sp.Expr:
    """Signs as a person writes them: -2*x*(-b - w*x + y) is 2*x*(b + w*x - y),
    -x*(y - w*x) is x*(w*x - y), 2*s*(y - s)*(s - 1) is 2*s*(s - y)*(1 - s)."""
    if not expr.args:
        return expr
    args = [_flip_signs(a) for a in expr.args]
    if not expr.is_Mul:
        return expr.func(*args) if args != list(expr.args) else expr
    coeff, *rest = args if args[0].is_Number else [sp.S.One, *args]
    scores = {k: _orientation(f) for k, f in enumerate(rest) if f.is_Add}
    flips = {k for k, score in scores.items() if score > 0}
    if coeff.is_negative != (len(flips) % 2 == 1):  # the product would keep a minus sign
        balanced = [k for k, score in scores.items() if score == 0 and k not in flips]
        if balanced:
            flips.add(balanced[0])
        elif scores and all(f.is_Add or (f.is_Pow and f.base.is_Add) for f in rest):
            # -(1 - s)*(a + b) would read back as (s - 1)*(a + b): write it so
            k = max((k for k in scores if k not in flips), key=scores.get, default=None)
            if k is not None:
                flips.add(k)
            else:  # every sum is flipped already: leave the one that wanted it least
                flips.discard(min(flips, key=scores.get))
    if not flips:
        return _keep_product(coeff, rest) if args != list(expr.args) else expr
    for k in flips:
        rest[k] = sp.Add(*[-t for t in rest[k].args])
    return _keep_product(-coeff if len(flips) % 2 else coeff, rest)


def _keep_product(coeff: sp.Expr, factors: list[sp.Expr]) -> sp.Expr:
    from sympy.core.mul import _keep_coeff

    return _keep_coeff(coeff, sp.Mul(*factors))
