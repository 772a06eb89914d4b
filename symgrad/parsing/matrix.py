"""Text with shapes to a shaped expression, by a small recursive-descent parser.

Used only when shapes are given; plain scalar input keeps going through ``symgrad.parser``.
Grammar (loosest binding first)::

    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "@" | "/" | ".*" | "⊙" | "./") unary | implicit-factor)*
    unary   := ("+" | "-")* power                          -x^2 is -(x^2)
    power   := postfix (("^" | "**" | ".^") unary | superscript)?   right-associative
    postfix := atom ("'" | ".T" | "^T" | "ᵀ" | "[" int ("," int)? "]")*
    atom    := number | name | name "(" args ")" | "(" sum ")"

``*`` is the matrix product when both sides are matrices or vectors, scalar multiplication
otherwise; ``^`` of a square matrix is its matrix power. The text is never evaluated: each
token is matched against a fixed grammar and every node is built by a constructor of
``symgrad.parsing.matrix_tree``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping

import sympy as sp

from symgrad.errors import InputError, LimitError, ParseError
from symgrad.functions import function_table, normalize_name
from symgrad.limits import FROM_FILE, Limits, current_limits
from symgrad.parsing import matrix_tree as E
from symgrad.parsing.matrix_shapes import SCALAR, Dim, Shape, parse_shapes, vector
from symgrad.parsing.matrix_tree import Node
from symgrad.parsing.plain import Token, _Cursor

MAX_MATRIX_POWER = 64  # the derivative of A^k has k terms

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᵀ"
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+(?:\.(?![*/^T])\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<sup>⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+|ᵀ)
  | (?P<name>[^\W\d_](?:(?![{_SUPERSCRIPTS}])\w)*)
  | (?P<op>\.\*|\./|\.\^|\.T(?!\w)|\*\*|[-+*/^(),\[\]'’@⊙∘−×·⋅÷])
    """,
    re.VERBOSE,
)
_OP_ALIASES = {"−": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/", "’": "'", "∘": "⊙"}
_BAD_CHAR_HINTS = {
    '"': "strings are not part of an expression",
    "=": "give an expression, not an equation or assignment",
    ";": "give one expression at a time",
    "{": "braces are not supported; use parentheses",
    "}": "braces are not supported; use parentheses",
    "|": "write norm2(v) for a norm, abs(x) for an absolute value",
    ".": "'.' starts .* ./ .^ or .T; a decimal number needs a digit, as in 0.5",
    "!": "factorial is not supported",
    "%": "'%' is not an operator here",
    "<": "comparisons are not expressions",
    ">": "comparisons are not expressions",
    "\\": "LaTeX input is not read with --shape; write plain notation such as X'*w",
    "_": "a name starts with a letter",
}
_SUP_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")

# name -> (number of arguments, constructor); the table functions act elementwise
MATRIX_FUNCTIONS = {
    "sum": (1, E.sum_),
    "norm2": (1, E.norm2),
    "norm": (1, E.norm2),
    "dot": (2, E.dot),
    "tr": (1, E.trace),
    "trace": (1, E.trace),
    "det": (1, E.det),
    "inv": (1, E.inv),
    "diag": (1, E.diag),
    "softmax": (1, E.softmax),
    "logsumexp": (1, E.logsumexp),
    "hadamard": (2, E.mul),
    "transpose": (1, E.transpose),
}
# functions whose arguments are sizes, not expressions
SIZE_FUNCTIONS = ("ones", "zeros", "eye", "onehot")


def tokenize(text: str, limits: Limits) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = _BAD_CHAR_HINTS.get(ch, "remove it or write it as plain math")
            raise ParseError(f"unexpected character {ch!r}: {hint}", column=pos + 1, source=text)
        kind = m.lastgroup
        if kind != "ws":
            value = m.group()
            if kind == "op":
                value = _OP_ALIASES.get(value, value)
            if kind == "name":
                _check_name(value, pos, text)
            tokens.append(Token(kind, value, pos + 1))
            if len(tokens) > limits.max_tokens:
                raise LimitError(
                    f"expression has more than {limits.max_tokens:,} tokens "
                    "(raise it with --max-tokens)"
                )
        pos = m.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _check_name(name: str, start: int, text: str) -> None:
    if name.isascii():
        return
    for offset, ch in enumerate(name):
        tag = unicodedata.decomposition(ch).split(" ")[0]
        if tag in ("<super>", "<sub>", "<fraction>"):
            raise ParseError(
                f"unexpected character {ch!r} in a name: write x^n for a power, x_1 for an index",
                column=start + offset + 1,
                source=text,
            )


def parse_matrix(
    text: str,
    shapes: Mapping[str, Shape] | Mapping[str, object] | str | list[str],
    limits: Limits | None = None,
) -> Node:
    """Parse an expression whose names have the given shapes (others are scalars).

    >>> e = parse_matrix("norm2(X*w - y)^2", "X=m,n; w=n; y=m")
    >>> e, e.shape
    (norm2(X*w - y)^2, (1, 1))

    A shape mismatch is an InputError naming both shapes and the operation; text that is not
    an expression is a ParseError with its column.
    """
    limits = limits or current_limits()
    if not isinstance(shapes, Mapping) or any(
        not (isinstance(v, tuple) and len(v) == 2) for v in shapes.values()
    ):
        shapes = parse_shapes(shapes)
    cap = limits.max_file_chars if FROM_FILE.get() else limits.max_chars
    if len(text) > cap:
        raise LimitError(
            f"expression is {len(text):,} characters, over the limit of {cap:,} "
            "(raise it with --max-chars, or read a large expression with --file)"
        )
    if not text.strip():
        raise ParseError("empty expression: type something such as norm2(X*w - y)^2", column=1)
    parser = _Parser(text, dict(shapes), limits)
    try:
        node = parser.parse()
    except InputError as err:
        if err.source is None:
            err.source = text
        raise
    if E.unknown(node.shape):
        raise InputError("vector(1) needs a size here: write ones(n) instead", source=text)
    return node


class _Parser(_Cursor):
    def __init__(self, text: str, shapes: dict[str, Shape], limits: Limits):
        super().__init__(text, limits, tokenize(text, limits))
        self.shapes = shapes
        self.functions = function_table()

    # ------------------------------------------------------------ helpers

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def at(self, tok: Token, build, *args):
        """``build(*args)``; a shape error gets the column of ``tok``."""
        try:
            return build(*args)
        except InputError as err:
            if err.column is None:
                err.column = tok.column
                err.source = self.text
            raise

    def leave(self) -> None:
        self.depth -= 1

    # ------------------------------------------------------------ grammar

    def parse(self) -> Node:
        node = self.sum()
        tok = self.peek()
        if tok.kind != "end":
            if self.is_op(tok, ")"):
                raise self.error("unbalanced parenthesis: this ')' has no matching '('", tok)
            if self.is_op(tok, ","):
                raise self.error("',' only separates the arguments of a function call", tok)
            raise self.error(f"unexpected {tok.text!r}", tok)
        return node

    def sum(self) -> Node:
        first = self.peek()
        terms = [self.term()]
        while self.is_op(self.peek(), "+", "-"):
            op = self.advance()
            right = self.term()
            terms.append(right if op.text == "+" else E.neg(right))
            if len(terms) % 64 == 0:  # check shapes as we go: the error names this '+'
                terms = [self.at(op, E.add, *terms)]
        return terms[0] if len(terms) == 1 else self.at(first, E.add, *terms)

    def term(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if self.is_op(tok, "*", "@"):
                self.advance()
                node = self.at(tok, E.product, node, self.unary())
            elif self.is_op(tok, "/"):
                self.advance()
                start = self.peek()
                divisor = self.unary()
                if E.is_zero(divisor):
                    raise self.error("division by zero", start)
                node = self.at(tok, E.div, node, divisor)
            elif self.is_op(tok, ".*", "⊙"):
                self.advance()
                node = self.at(tok, E.mul, node, self.unary())
            elif self.is_op(tok, "./"):
                self.advance()
                start = self.peek()
                divisor = self.unary()
                if E.is_zero(divisor):
                    raise self.error("division by zero", start)
                node = self.at(tok, E.ediv, node, divisor)
            elif self.implicit_product_follows():
                node = self.at(tok, E.product, node, self.power())
            else:
                return node

    def implicit_product_follows(self) -> bool:
        """``2x``, ``2(x + 1)``, ``(a + b)(c + d)``, ``(a + b)x``: only after a number or ')'."""
        prev = self.tokens[self.i - 1] if self.i else None
        tok = self.peek()
        if prev is None or not (tok.kind == "name" or self.is_op(tok, "(")):
            return False
        return prev.kind == "num" or self.is_op(prev, ")")

    def unary(self) -> Node:
        tok = self.peek()
        if self.is_op(tok, "-", "+"):
            self.advance()
            self.enter(tok)
            operand = self.unary()
            self.leave()
            return E.neg(operand) if tok.text == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        tok = self.peek()
        if self.is_op(tok, "^", "**", ".^"):
            self.advance()
            self.enter(tok)
            exponent = self.unary()
            self.leave()
            return self.raise_to(base, exponent, tok)
        if tok.kind == "sup":
            self.advance()
            exponent = E.num(int(tok.text.translate(_SUP_DIGITS)))
            return self.raise_to(base, exponent, tok)
        return base

    def raise_to(self, base: Node, exponent: Node, tok: Token) -> Node:
        if exponent.op == "num" and base.op == "num":
            self.check_power(base.data, exponent.data, tok)
        elementwise = tok.text == ".^"
        if base.is_scalar or elementwise:
            if base.is_scalar and not exponent.is_scalar:
                if not elementwise:
                    raise self.error(
                        "a scalar to a vector or matrix power: write .^ for each entry", tok
                    )
                base = E.mul(base, E.ones(exponent.shape))
            return self.at(tok, E.pow_, base, exponent)
        if not exponent.is_scalar or exponent.op != "num":
            raise self.error(
                "a matrix power needs a whole number, as in A^2; write .^ for each entry", tok
            )
        if base.shape[0] != base.shape[1]:
            what = "a vector" if 1 in base.shape else "a non-square matrix"
            raise self.error(
                f"^ of {what} ({E._shape_words(base.shape)}): write .^ for each entry"
                + (", or norm2(v)^2 for the squared length" if 1 in base.shape else ""),
                tok,
            )
        if abs(exponent.data) > MAX_MATRIX_POWER:
            raise LimitError(
                f"matrix power {exponent.data} is over the limit of {MAX_MATRIX_POWER}",
                column=tok.column,
                source=self.text,
            )
        return self.at(tok, E.mpow, base, exponent.data)

    def check_power(self, base: sp.Expr, exponent: sp.Expr, tok: Token) -> None:
        """Refuse a constant power whose value would be past the limits (``9^9^9``)."""
        if base in (0, 1, -1) or not base.is_number:
            return
        try:
            size = abs(math.log2(abs(float(base)))) * abs(float(exponent))
        except (OverflowError, ValueError):
            size = math.inf
        if size > self.limits.max_literal_bits:
            raise LimitError(
                f"this computes a number of more than {self.limits.max_literal_bits:,} bits; "
                "keep huge constants symbolic (raise it with --max-literal-bits)",
                column=tok.column,
                source=self.text,
            )

    def postfix(self) -> Node:
        node = self.atom()
        while True:
            tok = self.peek()
            if self.is_op(tok, "'", ".T") or (tok.kind == "sup" and tok.text == "ᵀ"):
                self.advance()
                node = E.transpose(node)
            elif (
                self.is_op(tok, "^")
                and self.peek(1).kind == "name"
                and self.peek(1).text == "T"
                and not node.is_scalar
            ):
                self.advance()
                self.advance()
                node = E.transpose(node)
            elif self.is_op(tok, "["):
                node = self.index(node)
            else:
                return node

    def index(self, node: Node) -> Node:
        opening = self.advance()
        at = [self.whole_number("an index is a whole number from 0, as in v[0]")]
        if self.is_op(self.peek(), ","):
            self.advance()
            at.append(self.whole_number("an index is a whole number from 0, as in A[0, 1]"))
        if not self.is_op(self.peek(), "]"):
            raise self.error("expected ']' after the index", self.peek())
        self.advance()
        return self.at(opening, E.index, node, *at)

    def whole_number(self, message: str) -> int:
        tok = self.advance()
        if tok.kind != "num" or not tok.text.isdigit():
            raise self.error(message, tok)
        return int(tok.text)

    def atom(self) -> Node:
        tok = self.advance()
        if tok.kind == "num":
            return self.number(tok)
        if tok.kind == "name":
            return self.name(tok)
        if self.is_op(tok, "("):
            self.enter(tok)
            if self.is_op(self.peek(), ")"):
                raise self.error("empty parentheses: put an expression inside", self.peek())
            node = self.sum()
            self.expect_close(tok)
            self.leave()
            return node
        if tok.kind == "end":
            raise self.error("the expression ends too early: expected a number, a name or '('", tok)
        if self.is_op(tok, "'"):
            raise self.error("a transpose ' follows what it transposes, as in X'", tok)
        if tok.kind == "sup":
            raise self.error("a superscript needs something to raise, as in x²", tok)
        raise self.error(f"unexpected {tok.text!r}: expected a number, a name or '('", tok)

    def number(self, tok: Token) -> Node:
        text = normalize_name(tok.text).lower()
        mantissa, _, exponent = text.partition("e")
        digits = len(mantissa.replace(".", ""))
        if digits * 3.33 > self.limits.max_literal_bits:
            raise LimitError(
                f"number literal of {digits:,} digits is over the limit of "
                f"{self.limits.max_literal_bits:,} bits (raise it with --max-literal-bits)",
                column=tok.column,
                source=self.text,
            )
        if "." not in text and not exponent:
            return E.num(sp.Integer(int(text)))
        value = float(text) if len(exponent.lstrip("+-")) <= 6 else math.inf
        if not math.isfinite(value) or (value == 0 and mantissa.strip("0.")):
            raise LimitError(
                "a decimal number in the expression is too large or too small for a double",
                column=tok.column,
                source=self.text,
            )
        return E.num(sp.Float(text, 15))

    def name(self, tok: Token) -> Node:
        name = normalize_name(tok.text)
        if name.startswith("__"):
            raise self.error(f"names starting with '__' are reserved: rename {name!r}", tok)
        if self.is_op(self.peek(), "("):
            return self.call(name, tok)
        if name in MATRIX_FUNCTIONS or name in SIZE_FUNCTIONS or name == "vector":
            raise self.error(f"{name} is a function: write {name}(...)", tok)
        if name in self.shapes:
            return E.sym(name, self.shapes[name])
        if name in self.functions:
            raise self.error(f"{name} is a function: write {name}(...)", tok)
        if name in ("e", "E"):
            return E.num(sp.E)
        if name == "pi":
            return E.num(sp.pi)
        return E.sym(name, SCALAR)

    def call(self, name: str, tok: Token) -> Node:
        if name in self.shapes:
            raise self.error(
                f"'{name}(' — {name} is a variable, not a function; write {name}*(...) "
                "for a product",
                tok,
            )
        opening = self.advance()
        self.enter(opening)
        if self.is_op(self.peek(), ")"):
            raise self.error(f"{name}() needs an argument, as in {name}(x)", self.peek())
        if name in SIZE_FUNCTIONS:
            node = self.sized(name, tok)
            self.expect_close(opening)
            self.leave()
            return node
        args = [self.sum()]
        while self.is_op(self.peek(), ","):
            self.advance()
            args.append(self.sum())
        self.expect_close(opening)
        self.leave()
        if name == "vector":
            if len(args) != 1 or not args[0].is_scalar:
                raise self.error("vector(c) takes one scalar: vector(1) is a vector of ones", tok)
            return E.mul(args[0], E.ones((None, 1)))
        if name in MATRIX_FUNCTIONS and (name != "softmax" or len(args) == 1):
            arity, build = MATRIX_FUNCTIONS[name]
            if len(args) != arity:
                plural = "s" if arity > 1 else ""
                raise self.error(f"{name} takes {arity} argument{plural}, got {len(args)}", tok)
            return self.at(tok, build, *args)
        spec = self.functions.get(name)
        if spec is None:
            raise self.error(
                f"unknown function '{name}' (for a product write {name}*(...)); see "
                "'symgrad functions', and sum, norm2, dot, tr, det, inv, diag, softmax, "
                "logsumexp, ones, eye",
                tok,
            )
        if name == "softmax":
            raise self.error(
                "softmax takes one vector here, as in softmax(W*x); softmax(a, b, c)[k] of "
                "scalars is read without --shape",
                tok,
            )
        if not spec.accepts(len(args)):
            raise self.error(f"{name} takes {spec.arity_text} arguments, got {len(args)}", tok)
        return self.at(tok, E.call, spec.name, *args)

    def sized(self, name: str, tok: Token) -> Node:
        """``ones(n)``, ``ones(m, n)``, ``zeros(...)``, ``eye(n)``, ``onehot(k, n)``."""
        dims = [self.dim()]
        while self.is_op(self.peek(), ","):
            self.advance()
            dims.append(self.dim())
        wanted = {"ones": (1, 2), "zeros": (1, 2), "eye": (1,), "onehot": (2,)}[name]
        if len(dims) not in wanted:
            example = {"eye": "eye(n)", "onehot": "onehot(k, n)"}.get(name, f"{name}(m, n)")
            raise self.error(f"{name} takes sizes, as in {example}", tok)
        if name != "onehot" and any(isinstance(d, int) and d < 1 for d in dims):
            raise self.error("a size is a whole number from 1", tok)
        if name == "eye":
            return E.eye(dims[0])
        if name == "onehot":
            k, n = dims
            if not isinstance(k, int) or (isinstance(n, int) and k >= n):
                raise self.error("onehot(k, n) needs a whole number k from 0 to n - 1", tok)
            return E.onehot(k, n)
        shape = vector(dims[0]) if len(dims) == 1 else (dims[0], dims[1])
        return E.ones(shape) if name == "ones" else E.zeros(shape)

    def dim(self) -> Dim:
        tok = self.advance()
        if tok.kind == "num" and tok.text.isdigit():
            return int(tok.text)
        if tok.kind == "name":
            return normalize_name(tok.text)
        raise self.error("a size is a name (n) or a whole number (3)", tok)
