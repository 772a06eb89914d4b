"""Shaped expressions as text (which re-parses to the same node) and as LaTeX.

Text follows the input notation: ``*`` between matrices is the matrix product, ``.*`` and
``./`` and ``.^`` are elementwise, ``'`` transposes::

    2*X'*(X*w - y)
    -2*(1 - tanh(W*x + b).^2) .* (V'*(y - V*tanh(W*x + b)))

LaTeX writes vectors and matrices in bold, ``^\\top`` for the transpose, ``\\odot`` for the
elementwise product.
"""

from __future__ import annotations

import sympy as sp

from symgrad.parsing.matrix_shapes import is_scalar
from symgrad.parsing.matrix_tree import Node

# precedence: a sum < a product < a leading minus < a power < a transpose or index < an atom
ADD, MUL, NEG, POW, POSTFIX, ATOM = 1, 2, 3, 4, 5, 6


# ---------------------------------------------------------------- text


def text(node: Node) -> str:
    """Text in the input notation; parsing it with the same shapes gives ``node`` back.

    >>> from symgrad.parsing.matrix import parse_matrix
    >>> text(parse_matrix("2*X'*(X*w - y)", {"X": ("m", "n"), "w": "n", "y": "m"}))
    "2*X'*(X*w - y)"
    """
    return _TextPrinter().print(node)[0]


def operand_text(node: Node) -> str:
    """``node`` as text, in parentheses unless it is a single operand of a product."""
    return _wrap(_TextPrinter().print(node), POW)


def number_text(value: sp.Expr) -> tuple[str, int]:
    """A number as text, with its precedence."""
    if value.is_Integer:
        return str(int(value)), (ATOM if value >= 0 else NEG)
    if value.is_Rational:
        return f"{value.p}/{value.q}", (MUL if value > 0 else NEG)
    if value.is_Float:
        f = float(value)
        body = repr(abs(f))  # 5.0 stays a decimal: it re-parses to the same Float
        if "e" in body:
            mantissa, exp = body.split("e")
            body = f"{mantissa}e{int(exp)}"
        return ("-" + body, NEG) if f < 0 else (body, ATOM)
    from symgrad.notation import expr_text

    shown = expr_text(value)
    if shown.startswith("-"):
        return shown, NEG
    if shown.replace("_", "").isalnum() or (shown.endswith(")") and shown[0].isalpha()):
        return shown, ATOM
    return shown, MUL


def _wrap(item: tuple[str, int], level: int) -> str:
    s, prec = item
    return s if prec >= level else f"({s})"


class _TextPrinter:
    """One ``_print_<op>`` method per kind of node (sympy's printer pattern), memoised."""

    HADAMARD = " .* "

    def __init__(self):
        self.memo: dict[Node, tuple[str, int]] = {}

    def print(self, node: Node) -> tuple[str, int]:
        found = self.memo.get(node)
        if found is None:
            found = getattr(self, f"_print_{node.op}")(node)
            self.memo[node] = found
        return found

    def _print_sym(self, node):
        return node.data, ATOM

    _print_ref = _print_sym

    def _print_num(self, node):
        return number_text(node.data)

    def _shape_args(self, node) -> str:
        rows, cols = node.shape
        if cols == 1:
            return f"{rows}"
        if rows == 1:
            return f"{cols}"
        return f"{rows},{cols}"

    def _print_ones(self, node):
        return self._filled("ones", node)

    def _print_zeros(self, node):
        return self._filled("zeros", node)

    def _filled(self, name, node):
        rows, cols = node.shape
        if rows is None or cols is None:
            return "vector(1)", ATOM
        if rows == 1:  # a row: the transpose of a column
            return f"{name}({cols})'", POSTFIX
        return f"{name}({self._shape_args(node)})", ATOM

    def _print_eye(self, node):
        return f"eye({node.shape[0]})", ATOM

    def _print_onehot(self, node):
        return f"onehot({node.data}, {node.shape[0]})", ATOM

    def _print_add(self, node):
        parts = []
        for i, (coef, term) in enumerate(zip(node.data, node.args)):
            negative = bool(coef.is_negative)
            body = _wrap(self._scaled(-coef if negative else coef, term), MUL)
            if i == 0:
                parts.append(f"-{body}" if negative else body)
            else:
                parts.append(f" - {body}" if negative else f" + {body}")
        return "".join(parts), ADD

    def _scaled(self, coef, term: Node) -> tuple[str, int]:
        if term.op == "num" and term.data == 1:
            return number_text(coef)
        if term.op == "mul":
            return self._product(coef * term.data[0], list(zip(term.args, term.data[1])))
        return self._product(coef, [(term, sp.S.One)])

    def _print_mul(self, node):
        coef, exps = node.data
        return self._product(coef, list(zip(node.args, exps)))

    def _product(self, coef, fs) -> tuple[str, int]:
        """``coef`` times the factors: scalars joined by ``*``, matrices by ``.*``, negative
        powers after ``/`` (scalars) or ``./`` (matrices)."""
        negative = bool(coef.is_negative)
        if negative:
            coef = -coef
        num_c, den_c = (coef.p, coef.q) if coef.is_Rational else (coef, 1)
        top = [(b, e) for b, e in fs if e > 0]
        bottom = [(b, -e) for b, e in fs if e < 0]
        if len(top) == 1 and not bottom and num_c == 1 and den_c == 1:
            item = self._power(*top[0])
            return (f"-{_wrap(item, MUL)}", NEG) if negative else item
        pieces: list[str] = []
        matrices = sum(1 for b, _ in top if not is_scalar(b.shape))
        lead = None
        if num_c != 1 or not top:
            lead = number_text(sp.sympify(num_c))
            pieces.append(_wrap(lead, MUL) if lead[1] != NEG else f"({lead[0]})")
        scalars = [(b, e) for b, e in top if is_scalar(b.shape)]
        mats = [(b, e) for b, e in top if not is_scalar(b.shape)]
        for b, e in scalars:
            pieces.append(("*" if pieces else "") + _wrap(self._power(b, e), MUL))
        for k, (b, e) in enumerate(mats):
            item = self._power(b, e)
            level = POW if matrices > 1 or bottom else MUL
            if k == 0:
                pieces.append(("*" if pieces else "") + _wrap(item, level))
            else:
                pieces.append(self.HADAMARD + _wrap(item, POW))
        if den_c != 1:
            pieces.append("/" + _wrap(number_text(sp.sympify(den_c)), POW))
        for b, e in bottom:
            op = "/" if is_scalar(b.shape) else " ./ "
            pieces.append(op + _wrap(self._power(b, e), POW))
        out = "".join(pieces)
        if negative:
            return f"-{out}", NEG
        return out, MUL

    def _power(self, base: Node, e) -> tuple[str, int]:
        if e == 1:
            return self.print(base)
        if e == sp.S.Half:
            return f"sqrt({self.print(base)[0]})", ATOM
        op = "^" if is_scalar(base.shape) else ".^"
        exp_text, exp_prec = number_text(e)
        exponent = exp_text if exp_prec >= ATOM else f"({exp_text})"
        return f"{_wrap(self.print(base), POSTFIX)}{op}{exponent}", POW

    def _print_pow(self, node):
        base, exponent = node.args
        op = "^" if node.is_scalar else ".^"
        return f"{_wrap(self.print(base), POSTFIX)}{op}{_wrap(self.print(exponent), POSTFIX)}", POW

    def _print_matmul(self, node):
        return "*".join(_wrap(self.print(a), POW) for a in node.args), MUL

    def _print_T(self, node):
        return f"{_wrap(self.print(node.args[0]), POSTFIX)}'", POSTFIX

    def _print_fn(self, node):
        return f"{node.data}({', '.join(self.print(a)[0] for a in node.args)})", ATOM

    def _call(self, name, node):
        return f"{name}({self.print(node.args[0])[0]})", ATOM

    def _print_sum(self, node):
        return self._call("sum", node)

    def _print_norm2(self, node):
        return self._call("norm2", node)

    def _print_tr(self, node):
        return self._call("tr", node)

    def _print_det(self, node):
        return self._call("det", node)

    def _print_inv(self, node):
        return self._call("inv", node)

    def _print_diag(self, node):
        return self._call("diag", node)

    def _print_softmax(self, node):
        return self._call("softmax", node)

    def _print_lse(self, node):
        return self._call("logsumexp", node)

    def _print_index(self, node):
        (a,) = node.args
        i, j = node.data
        if a.shape[1] == 1:
            where = f"{i}"
        elif a.shape[0] == 1:
            where = f"{j}"
        else:
            where = f"{i}, {j}"
        return f"{_wrap(self.print(a), POSTFIX)}[{where}]", POSTFIX

    def _print_mpow(self, node):
        return f"{_wrap(self.print(node.args[0]), POSTFIX)}^{node.data}", POW


matrix_text = text  # the names symgrad exports


# ---------------------------------------------------------------- Unicode


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def unicode_text(node: Node) -> str:
    """Text for a terminal: ``Xᵀ``, ``⊙``, ``x²``. It re-parses too (the shaped parser reads
    ``ᵀ``, ``⊙`` and superscripts).

    >>> from symgrad.parsing.matrix import parse_matrix
    >>> unicode_text(parse_matrix("2*X'*(X*w - y) + u .* v.^2", "X=m,n; w=n; y=m; u=n; v=n"))
    '2*Xᵀ*(X*w - y) + u ⊙ v.^2'
    """
    return _UnicodePrinter().print(node)[0]


class _UnicodePrinter(_TextPrinter):
    HADAMARD = " ⊙ "

    def _print_T(self, node):
        return f"{_wrap(self.print(node.args[0]), POSTFIX)}ᵀ", POSTFIX

    def _power(self, base, e):
        if is_scalar(base.shape) and e.is_Integer and e > 1:
            return f"{_wrap(self.print(base), POSTFIX)}{str(int(e)).translate(_SUPERSCRIPT)}", POW
        return super()._power(base, e)


# ---------------------------------------------------------------- LaTeX

_LATEX_FUNCTIONS = {
    "sigmoid": r"\sigma",
    "exp": r"\exp",
    "log": r"\log",
    "sin": r"\sin",
    "cos": r"\cos",
    "tan": r"\tan",
    "sinh": r"\sinh",
    "cosh": r"\cosh",
    "tanh": r"\tanh",
    "cot": r"\cot",
    "sec": r"\sec",
    "csc": r"\csc",
    "asin": r"\arcsin",
    "acos": r"\arccos",
    "atan": r"\arctan",
}


def latex(node: Node) -> str:
    """LaTeX math: bold vectors and matrices, ``^\\top``, ``\\odot``.

    >>> from symgrad.parsing.matrix import parse_matrix
    >>> latex(parse_matrix("2*X'*(X*w - y)", {"X": ("m", "n"), "w": "n", "y": "m"}))
    '2 \\\\mathbf{X}^\\\\top \\\\left(\\\\mathbf{X} \\\\mathbf{w} - \\\\mathbf{y}\\\\right)'
    """
    return _LatexPrinter().print(node)[0]


def name_latex(name: str, bold: bool) -> str:
    """A variable's name in LaTeX: Greek spelled out becomes the letter; bold if shaped."""
    from symgrad.functions import symbol

    body = sp.latex(symbol(name))
    if not bold:
        return body
    return rf"\boldsymbol{{{body}}}" if body.startswith("\\") else rf"\mathbf{{{body}}}"


def _lwrap(item: tuple[str, int], level: int) -> str:
    s, prec = item
    return s if prec >= level else rf"\left({s}\right)"


class _LatexPrinter(_TextPrinter):
    def _print_sym(self, node):
        return name_latex(node.data, not node.is_scalar), ATOM

    def _print_ref(self, node):  # a name of --cse: t_{0}, as its definition line writes it
        return name_latex(node.data, False), ATOM

    def _print_num(self, node):
        value = node.data
        body = sp.latex(abs(value))
        if value.is_Float:
            body = number_text(abs(value))[0]
        prec = ATOM if value.is_Integer or value.is_Float else MUL
        return (f"-{body}", NEG) if value.is_negative else (body, prec)

    def _filled(self, name, node):
        rows, cols = node.shape
        symbol = r"\mathbf{1}" if name == "ones" else r"\mathbf{0}"
        if rows is None or cols is None:
            return symbol, ATOM
        if rows == 1:
            return rf"{symbol}_{{{cols}}}^\top", POSTFIX
        size = self._shape_args(node).replace(",", r" \times ")
        return rf"{symbol}_{{{size}}}", ATOM

    def _print_eye(self, node):
        return rf"\mathbf{{I}}_{{{node.shape[0]}}}", ATOM

    def _print_onehot(self, node):
        return rf"\mathbf{{e}}_{{{node.data}}}", ATOM

    def _print_add(self, node):
        parts = []
        for i, (coef, term) in enumerate(zip(node.data, node.args)):
            negative = bool(coef.is_negative)
            body = _lwrap(self._scaled(-coef if negative else coef, term), MUL)
            if i == 0:
                parts.append(f"-{body}" if negative else body)
            else:
                parts.append(f" - {body}" if negative else f" + {body}")
        return "".join(parts), ADD

    def _product(self, coef, fs):
        negative = bool(coef.is_negative)
        if negative:
            coef = -coef
        top = [(b, e) for b, e in fs if e > 0]
        bottom = [(b, -e) for b, e in fs if e < 0]
        num_c, den_c = (coef.p, coef.q) if coef.is_Rational else (coef, 1)
        if len(top) == 1 and not bottom and num_c == 1 and den_c == 1:
            item = self._power(*top[0])
            return (f"-{_lwrap(item, MUL)}", NEG) if negative else item
        pieces = []
        if num_c != 1 or not top:
            pieces.append(_lwrap(self._print_num_value(sp.sympify(num_c)), MUL))
        scalars = [(b, e) for b, e in top if is_scalar(b.shape)]
        mats = [(b, e) for b, e in top if not is_scalar(b.shape)]
        for b, e in scalars:
            pieces.append(_lwrap(self._power(b, e), POW if pieces else MUL))
        for k, (b, e) in enumerate(mats):
            level = POW if len(mats) > 1 or bottom else MUL
            item = _lwrap(self._power(b, e), level)
            pieces.append((r"\odot " if k else "") + item)
        out = " ".join(pieces)
        denominators = [self._print_num_value(sp.sympify(den_c))[0]] if den_c != 1 else []
        denominators += [self._power(b, e)[0] for b, e in bottom if is_scalar(b.shape)]
        for b, e in bottom:
            if not is_scalar(b.shape):
                out += r" \oslash " + _lwrap(self._power(b, e), POW)
        if denominators:
            out = rf"\frac{{{out}}}{{{' '.join(denominators)}}}"
        if negative:
            return f"-{out}", NEG
        return out, MUL

    def _print_num_value(self, value):
        return self._print_num(Node("num", (), value, (1, 1)))

    def _power(self, base, e):
        if e == 1:
            return self.print(base)
        if e == sp.S.Half:
            return rf"\sqrt{{{self.print(base)[0]}}}", ATOM
        hat = "" if is_scalar(base.shape) else r"\circ "
        return rf"{_lwrap(self.print(base), POSTFIX)}^{{{hat}{sp.latex(e)}}}", POW

    def _print_pow(self, node):
        base, exponent = node.args
        hat = "" if node.is_scalar else r"\circ "
        return rf"{_lwrap(self.print(base), POSTFIX)}^{{{hat}{self.print(exponent)[0]}}}", POW

    def _print_matmul(self, node):
        return " ".join(_lwrap(self.print(a), POW) for a in node.args), MUL

    def _print_T(self, node):
        (a,) = node.args
        if a.op == "inv":
            return rf"{_lwrap(self.print(a.args[0]), POSTFIX)}^{{-\top}}", POSTFIX
        return rf"{_lwrap(self.print(a), POSTFIX)}^\top", POSTFIX

    def _print_fn(self, node):
        name = _LATEX_FUNCTIONS.get(node.data, rf"\operatorname{{{node.data}}}")
        args = ", ".join(self.print(a)[0] for a in node.args)
        return rf"{name}\left({args}\right)", ATOM

    def _call(self, name, node):
        return rf"\operatorname{{{name}}}\left({self.print(node.args[0])[0]}\right)", ATOM

    def _print_norm2(self, node):
        return rf"\left\lVert {self.print(node.args[0])[0]} \right\rVert_2", ATOM

    def _print_tr(self, node):
        return rf"\operatorname{{tr}}\left({self.print(node.args[0])[0]}\right)", ATOM

    def _print_det(self, node):
        return rf"\det\left({self.print(node.args[0])[0]}\right)", ATOM

    def _print_inv(self, node):
        return rf"{_lwrap(self.print(node.args[0]), POSTFIX)}^{{-1}}", POSTFIX

    def _print_index(self, node):
        (a,) = node.args
        i, j = node.data
        where = f"{i}" if a.shape[1] == 1 else f"{j}" if a.shape[0] == 1 else f"{i}, {j}"
        return rf"{_lwrap(self.print(a), POSTFIX)}_{{{where}}}", POSTFIX

    def _print_mpow(self, node):
        return rf"{_lwrap(self.print(node.args[0]), POSTFIX)}^{{{node.data}}}", POW


matrix_latex = latex
matrix_unicode = unicode_text
