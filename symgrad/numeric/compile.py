"""Python source from sympy trees, and numpy functions compiled from it.

One printer serves every number symgrad makes: ``--at`` values, the checker's points and
``symgrad codegen``. Every expression is first rewritten to its numerically stable form
(``symgrad.numeric.stable``: softplus, log-sigmoid, shifted log-sum-exp). Each function prints
as its table entry says (``numpy`` or ``python`` code; a helper ``def`` where the module has
no function of its own); shared subexpressions are computed once; names are valid, distinct
Python identifiers that never shadow a module, a builtin or a helper, and constants print as
``numpy.e``/``math.pi``, so no variable can stand for them. The source is built from the tree,
never from the user's text.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from symgrad.errors import UnverifiableError
from symgrad.functions import FUNCTIONS
from symgrad.notation import linear_text
from symgrad.numeric.stable import stable

TARGETS = ("numpy", "python")
H0 = sp.Symbol("_h0", real=True)
"""The step's value at 0 in compiled code (sympy's 1/2; PyTorch's relu'(0) is 0)."""

_MODULE = {"numpy": "numpy", "python": "math"}
_CONSTANTS = {"pi": "pi", "E": "e"}
_UNDEFINED = ("zoo", "nan", "oo", "-oo")
_DEF = re.compile(r"def (\w+)\(")


@dataclass(frozen=True)
class Spellings:
    """How one target writes symgrad's vocabulary: ``names`` for ``linear_text`` and the
    helper definitions, by the name they define."""

    names: dict[str, str]
    helpers: dict[str, str]


@lru_cache(maxsize=2)
def spellings(target: str) -> Spellings:
    """Function and constant spellings of ``target`` (``numpy`` or ``python``), from the table."""
    module = _MODULE[target]
    names = {name: f"{module}.{value}" for name, value in _CONSTANTS.items()}
    names["sqrt"] = f"{module}.sqrt"
    names.update({u: f"{module}.nan" for u in _UNDEFINED})
    helpers: dict[str, str] = {}
    for entry in FUNCTIONS:
        code = getattr(entry, target)
        if code is None or not entry.classes:
            continue
        if code.startswith("def "):
            helper = _DEF.match(code).group(1)
            helpers[helper] = code
            code = helper
        for cls in entry.classes:
            names[cls.__name__] = code
    return Spellings(names, helpers)


def reserved(target: str) -> frozenset[str]:
    """Names generated code uses for itself: a variable never takes one of them."""
    return frozenset(
        {"numpy", "math", "value", "gradient", *spellings(target).helpers, *dir(builtins)}
    )


def identifiers(symbols: Iterable[sp.Symbol], target: str = "numpy") -> dict[str, str]:
    """A valid, distinct Python identifier for each symbol name; most keep their own.

    >>> from symgrad.functions import symbol
    >>> identifiers([symbol("lambda"), symbol("lambda_"), symbol("x")])
    {'lambda': 'lambda__', 'lambda_': 'lambda_', 'x': 'x'}
    """
    names = [s.name for s in symbols]
    taken = set(reserved(target))
    chosen: dict[str, str] = {}
    own = [n for n in names if _usable(n, taken)]
    for name in own:  # most names are their own identifier
        chosen[name] = name
    taken.update(own)
    for name in names:
        if name in chosen:
            continue
        candidate = name + "_" if name.isidentifier() else _ascii(name)
        while candidate in taken:
            candidate += "_"
        chosen[name] = candidate
        taken.add(candidate)
    return {name: chosen[name] for name in names}


def _usable(name: str, taken: set[str]) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name not in taken


def _ascii(name: str) -> str:
    """An identifier made of the name's letters and digits: ``a(1)`` is ``v_a_1_``."""
    return "v_" + re.sub(r"[^0-9A-Za-z_]", "_", name)


def body_lines(
    definitions: Sequence[tuple[sp.Symbol, sp.Expr]],
    names: dict[str, str],
    used: set[str],
    target: str,
) -> list[str]:
    """``    name = expression`` lines for ``definitions``; ``used`` collects the helpers."""
    return [f"    {names[n.name]} = {code_text(d, names, used, target)}" for n, d in definitions]


def code_text(expr: sp.Expr, names: dict[str, str], used: set[str], target: str) -> str:
    """``expr`` as Python for ``target``; the helpers it calls are added to ``used``."""
    doubles = _checked_numbers(expr)
    spelling = spellings(target)
    if doubles:
        expr, names = _as_doubles(expr, doubles, names, target)
    text = linear_text(expr, {**spelling.names, **names})
    used.update(h for h in spelling.helpers if _mentions(text, h))
    return text


def _mentions(code: str, token: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(token)}\(", code) is not None


DOUBLE_BITS = 53
"""A whole number of more bits is not exact in a double anyway; past 63 bits numpy holds it
as a Python object, which its functions refuse (``numpy.sin(2**70)``), and past 1024 bits it
has no double at all: code writes such a number as its double."""


def _checked_numbers(expr: sp.Expr) -> list[sp.Rational]:
    """The numbers of ``expr`` that code must write as doubles; an UnverifiableError when
    ``expr`` holds what no code computes (an unevaluated derivative)."""
    from symgrad.derive.reverse import topological

    found = [expr] if expr.is_Rational and _wide(expr) else []
    for node in topological([expr]):
        if isinstance(node, (sp.Derivative, sp.Subs, sp.Integral)) or (
            isinstance(node, sp.core.function.AppliedUndef)
        ):
            raise UnverifiableError(
                f"cannot evaluate {type(node).__name__} numerically: the result still holds an "
                "unevaluated derivative"
            )
        found += [a for a in node.args if a.is_Rational and _wide(a)]
    return list(dict.fromkeys(found))


def _wide(number: sp.Rational) -> bool:
    return max(abs(number.p).bit_length(), number.q.bit_length()) > DOUBLE_BITS


def double(number: sp.Rational) -> float:
    """The double nearest ``number``; ``inf`` past the largest.

    >>> double(sp.Integer(2) ** 1100), double(sp.Rational(1, 3))
    (inf, 0.3333333333333333)
    """
    try:
        return number.p / number.q  # correctly rounded, however large p and q are
    except OverflowError:
        return math.inf if number.p > 0 else -math.inf


def _as_doubles(expr: sp.Expr, numbers: list[sp.Rational], names: dict[str, str], target: str):
    """``expr`` with ``numbers`` replaced by names that print as their doubles."""
    from symgrad.functions import symbol

    module = _MODULE[target]
    names = dict(names)
    replace = {}
    for k, number in enumerate(numbers):
        value = double(number)
        text = repr(abs(value)) if math.isfinite(value) else f"{module}.inf"
        names[f"_n{k}"] = f"(-{text})" if value < 0 else text
        replace[number] = symbol(f"_n{k}")
    return expr.xreplace(replace), names


def beyond_doubles(exprs: Iterable[sp.Expr]) -> list[sp.Rational]:
    """The numbers in ``exprs`` past the range of a double (about 1.8e308)."""
    found = [n for e in exprs for n in _checked_numbers(e) if not math.isfinite(double(n))]
    return list(dict.fromkeys(found))


def number_name(number: sp.Rational) -> str:
    """A number as a note names it: in full when short, else by its size."""
    text = str(number)
    if len(text) <= 30:
        return text
    return f"a number of {len(str(abs(number.p))):,} digits"


def helper_source(used: Iterable[str], target: str) -> list[str]:
    """The definitions of the helpers in ``used``, in the table's order."""
    helpers = spellings(target).helpers
    return [helpers[h].rstrip("\n") for h in helpers if h in used]


# ---------------------------------------------------------------- compiled numpy functions


def compile_exprs(exprs: Sequence[sp.Expr], args: Sequence[sp.Symbol]) -> Callable:
    """One numpy function computing every expression in ``exprs`` (shared subexpressions once).

    The function takes one array per symbol in ``args`` (and an optional ``h0``, the step's
    value at 0) and returns a float array of shape ``(len(exprs), *shape)``; a value that is
    not real and finite there is ``nan`` or ``inf``.

    >>> from symgrad import parse
    >>> from symgrad.functions import symbol
    >>> f = compile_exprs([parse("x^2"), parse("sigmoid(x)")], [symbol("x")])
    >>> f([0.0, 3.0]).tolist()
    [[0.0, 9.0], [0.5, 0.9525741268224333]]
    """
    return _compile(tuple(exprs), tuple(args))


@lru_cache(maxsize=64)
def _compile(exprs: tuple, args: tuple) -> Callable:
    from symgrad.derive.reverse import share

    exprs = tuple(stable(e) for e in exprs)
    steps = {sp.Heaviside(a, sp.S.Half): sp.Heaviside(a, H0) for a in _step_arguments(exprs)}
    if steps:
        exprs = tuple(e.xreplace(steps) for e in exprs)
    names = identifiers([*args, H0])
    definitions, reduced = share(exprs, taken=[*args, H0])
    names.update({n.name: n.name for n, _ in definitions})
    used: set[str] = set()
    lines = body_lines(definitions, names, used, "numpy")
    results = [code_text(e, names, used, "numpy") for e in reduced]
    params = ", ".join([*(names[a.name] for a in args), f"{names[H0.name]}=0.5"])
    source = "\n".join(
        [
            *helper_source(used, "numpy"),
            f"def _f({params}):",
            *lines,
            f"    return ({', '.join(results)}{',' if len(results) == 1 else ''})",
        ]
    )
    namespace: dict = {"numpy": np, "math": math}
    exec(compile(source, "<symgrad>", "exec"), namespace)  # source built from the tree
    raw = namespace["_f"]
    count = len(exprs)

    def call(*values, h0: float = 0.5):
        arrays = [np.asarray(v, dtype=float) for v in values]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        with np.errstate(all="ignore"):
            try:
                out = raw(*arrays, h0)
            except (OverflowError, ZeroDivisionError, ValueError):
                # a literal too large for a float, or a math function outside its domain
                return np.full((count, *shape), np.nan)
        rows = []
        for item in out:
            item = np.asarray(item)
            if np.iscomplexobj(item):
                item = np.where(item.imag == 0, item.real, np.nan)
            rows.append(np.broadcast_to(item.astype(float, copy=False), shape))
        return np.array(rows, dtype=float).reshape((count, *shape))

    call.source = source  # type: ignore[attr-defined]
    call.generated = raw  # type: ignore[attr-defined]  # for loops of scalar calls (descend)
    return call


def _step_arguments(exprs: Sequence[sp.Expr]) -> set[sp.Expr]:
    from symgrad.derive.reverse import topological

    return {
        node.args[0]
        for node in topological(list(exprs))
        if isinstance(node, sp.Heaviside) and (len(node.args) < 2 or node.args[1] == sp.S.Half)
    }
