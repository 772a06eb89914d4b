"""Text to sympy tree, by a small hand-written parser that never evaluates user text.

Grammar (loosest binding first)::

    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary | implicit-factor)*
    unary   := ("+" | "-")* power                  -x^2 is -(x^2)
    power   := atom (("^" | "**") ("+" | "-")* atom | superscript)*   right-associative
    atom    := number | name | name "(" sum ("," sum)* ")" index? | "(" sum ")"
    index   := "[" integer "]"                     one output of a vector function

A vector is the whole expression or nothing: ``[f1, f2, ...]`` or a vector function such as
``softmax(a, b, c)``; inside an expression a vector function needs an index,
``softmax(a, b, c)[0]`` (from 0, as in Python and PyTorch).

Implicit multiplication only where it cannot be misread: after a number (``3x``, ``2(x+1)``)
and after a closing parenthesis (``(x+1)(x-1)``, ``(x+1)y``). Sums, products and power towers
are loops, so only parentheses and calls recurse, and their depth is bounded.

Large inputs are built as written (``symgrad.parsing.build``).
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from contextvars import ContextVar
from typing import NamedTuple

import sympy as sp
from sympy.core.function import FunctionClass
from sympy.core.mul import _keep_coeff

from symgrad.errors import LimitError, ParseError
from symgrad.functions import PREFIXES, constants, function_table, lookup, normalize_name, symbol
from symgrad.limits import FROM_FILE, Limits, current_limits
from symgrad.parsing.build import RAW_MIN_CHARS, no_gc, raw_add, raw_mul, raw_pow

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<sup>⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)
  | (?P<name>[^\W\d_](?:(?![{_SUPERSCRIPTS}])\w)*)
  | (?P<op>\*\*|[-+*/^(),\[\]−×·⋅÷])
    """,
    re.VERBOSE,
)
# unicode spellings of the ASCII operators
_OP_ALIASES = {"−": "-", "×": "*", "·": "*", "⋅": "*", "÷": "/"}
_BAD_CHAR_HINTS = {
    "'": "strings are not part of an expression",
    '"': "strings are not part of an expression",
    ".": "attribute access is not supported; a decimal number needs a digit, as in 0.5",
    "{": "braces are not supported; use parentheses",
    "}": "braces are not supported; use parentheses",
    "=": "give an expression, not an equation or assignment (drop 'y =')",
    "<": "comparisons are not expressions",
    ">": "comparisons are not expressions",
    ";": "give one expression at a time",
    "!": "factorial is not supported",
    "%": "'%' is not an operator here; write x/100 or use a function",
    ":": "':' is not an operator here",
    "|": "write abs(x) for an absolute value",
    "@": "'@' is not an operator here; write * for a product",
    "&": "'&' is not an operator here",
    "`": "backquotes are not part of an expression",
    "\\": "this is LaTeX: read it with symgrad.parse_latex (the CLI detects it)",
    "_": "a name starts with a letter (x_1 is a name, _x is not; write 1000, not 1_000)",
    "√": "write sqrt(x)",
}
# compatibility characters whose plain form would silently change the meaning of a name
_NAME_TRAPS = {
    "<super>": "a superscript inside a name: write x^n for a power",
    "<sub>": "a subscript: write x_1 or x_i",
    "<fraction>": "write a fraction as 1/2",
}


class Token(NamedTuple):  # a tuple: a megabyte of input is 200,000 of them
    kind: str  # "num" | "name" | "sup" | "op" | "end"
    text: str
    column: int  # 1-based


def tokenize(text: str, limits: Limits | None = None) -> list[Token]:
    """Split ``text`` into tokens; a character that belongs to no token is a ParseError."""
    limits = limits or current_limits()
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    match = _TOKEN.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            qualified = _qualified(text, pos, tokens)
            if qualified is not None:  # np.log, torch.sigmoid: the parser reads the prefix
                pos = qualified
                continue
            ch = text[pos]
            hint = _BAD_CHAR_HINTS.get(ch, "remove it or write it as plain math")
            if ch == "'" and _after_operand(text, pos, tokens):
                hint = _PRIME_HINT if text[pos + 1 : pos + 2] == "(" else _TRANSPOSE_HINT
            raise ParseError(f"unexpected character {ch!r}: {hint}", column=pos + 1, source=text)
        kind = m.lastgroup
        if kind == "name":
            _check_name_characters(m.group(), pos, text)
        if kind != "ws":
            value = m.group()
            if kind == "op":
                value = _OP_ALIASES.get(value, value)
            tokens.append(Token(kind, value, pos + 1))
            if len(tokens) > limits.max_tokens:
                raise LimitError(
                    f"expression has more than {limits.max_tokens:,} tokens "
                    "(raise it with --max-tokens)",
                    source=text,
                )
        pos = m.end()
    tokens.append(Token("end", "", n + 1))
    return tokens


_NAME = re.compile(rf"[^\W\d_](?:(?![{_SUPERSCRIPTS}])\w)*")
_PRIME_HINT = (
    "f'(x) is a derivative: give the function itself and symgrad computes its derivative "
    "(symgrad grad EXPR --wrt x)"
)
_VECTORS = (
    ", for vectors and matrices, which are not read in a scalar expression; write the sum out "
    "(w1*x1 + w2*x2)"
)
_TRANSPOSE_HINT = f"a transpose (w'){_VECTORS}"


def _after_operand(text: str, pos: int, tokens: list[Token]) -> bool:
    """True when the character at ``pos`` directly follows a name or a ')'."""
    if not tokens:
        return False
    last = tokens[-1]
    return (last.kind == "name" or last.text == ")") and last.column - 1 + len(last.text) == pos


def _qualified(text: str, pos: int, tokens: list[Token]) -> int | None:
    """At a '.' right after a name and before a name (``np.log``), join the three into one
    dotted name token in ``tokens`` and return where it ends; else None."""
    if text[pos] != "." or not _after_operand(text, pos, tokens) or tokens[-1].kind != "name":
        return None
    m = _NAME.match(text, pos + 1)
    if m is None:
        return None
    last = tokens.pop()
    tokens.append(Token("name", f"{last.text}.{m.group()}", last.column))
    return m.end()


def _check_name_characters(name: str, start: int, text: str) -> None:
    """Refuse a character that NFKC would silently turn into something else (``xⁿ`` into
    ``xn``, ``a⑴`` into ``a(1)``) instead of guessing what was meant."""
    trap = name_trap(name)
    if trap is not None:
        offset, message = trap
        raise ParseError(message, column=start + offset + 1, source=text)


def name_trap(name: str) -> tuple[int, str] | None:
    """``(offset, message)`` for the first character of ``name`` whose plain (NFKC) form
    changes what the name means, or is not part of a name at all; None when there is none.

    >>> name_trap("a⑴")[0], name_trap("x1") is None
    (1, True)
    """
    if name.isascii():
        return None
    for offset, ch in enumerate(name):
        if ch.isascii():
            continue
        tag = unicodedata.decomposition(ch).split(" ")[0]
        if tag in _NAME_TRAPS:
            return offset, f"unexpected character {ch!r}: {_NAME_TRAPS[tag]}"
        plain = unicodedata.normalize("NFKC", ch)
        if not _NAME_PART.fullmatch(plain):
            return offset, (
                f"unexpected character {ch!r}: it reads as {plain!r}, which cannot be part of a "
                "name; a name is letters, digits and _"
            )
        if offset == 0 and not plain[0].isalpha():
            return offset, (
                f"unexpected character {ch!r}: it reads as {plain!r}, and a name starts with a "
                "letter"
            )
    return None


_NAME_PART = re.compile(r"\w+")


def parse(text: str, limits: Limits | None = None, *, max_chars: int | None = None) -> sp.Expr:
    """Parse what a person types into a sympy expression with real symbols.

    >>> parse("y*log(w*x+b)")
    y*log(b + w*x)

    Raises ParseError (with the 1-based column) for text that is not an expression and
    LimitError for input past a bound in ``limits`` (default: ``current_limits()``).
    """
    limits = limits or current_limits()
    if max_chars is None:
        max_chars = limits.max_file_chars if FROM_FILE.get() else limits.max_chars
    cap = max_chars
    if len(text) > cap:
        raise LimitError(
            f"expression is {len(text):,} characters, over the limit of {cap:,} "
            "(raise it with --max-chars, or read a large expression with --file)",
            source=None,
        )
    if not text.strip():
        raise ParseError("empty expression: type something such as x^2 + y", column=1, source=text)
    with no_gc():
        try:
            parser = _Parser(text, limits)
            expr = parser.parse()
        except ParseError:
            hint = derivative_request(text)
            if hint is not None:
                raise ParseError(hint, column=1, source=text) from None
            raise
        _check_result(expr, text, limits)
    remember_names(expr, parser.names)
    return expr


_TYPED: ContextVar[tuple[sp.Expr, frozenset[str]] | None] = ContextVar(
    "symgrad_typed_names", default=None
)


def remember_names(expr: sp.Expr, names: set[str]) -> None:
    """Keep the variable names the text of ``expr`` had: sympy may cancel some of them from
    the tree (``asin(-x) + asin(x)`` is 0), yet each is a variable the user typed."""
    _TYPED.set((expr, frozenset(names)))


def typed_names(expr: sp.Expr) -> frozenset[str]:
    """The variable names typed in the text that ``expr`` was parsed from, in this context
    (this thread, this expression's work); empty for an expression built any other way.

    >>> sorted(typed_names(parse("asin(-x) + asin(x) + y")))
    ['x', 'y']
    """
    found = _TYPED.get()
    return found[1] if found is not None and found[0] is expr else frozenset()


_SPACE = r"\s*"
_VAR = r"([^\W\d]\w*)"
_DERIVATIVE_FORMS = [
    # d/dx f, d^2/dx^2 f, d/dx(f)
    re.compile(rf"^{_SPACE}d(?:\^?(\d))?{_SPACE}/{_SPACE}d{_VAR}(?:\^?\d)?(?:\s+|(?=\())(.+)$"),
    # df/dx (the function inside), d(f)/dx
    re.compile(rf"^{_SPACE}d{_SPACE}\((.+)\){_SPACE}/{_SPACE}d{_VAR}{_SPACE}$"),
    # ∂f/∂x, ∂/∂x f
    re.compile(
        rf"^{_SPACE}∂(?:\^?(\d))?{_SPACE}(.*?){_SPACE}/{_SPACE}∂{_VAR}(?:\^?\d)?{_SPACE}(.*)$"
    ),
    # diff(f, x), diff(f, x, 2), D[f, x], derivative(f, x)
    re.compile(
        rf"^{_SPACE}(?:diff|D|derivative|Derivative|differentiate|grad|gradient){_SPACE}"
        rf"[(\[](.+),{_SPACE}{_VAR}{_SPACE}(?:,{_SPACE}(\d+){_SPACE})?[)\]]{_SPACE}$"
    ),
]


def derivative_request(text: str) -> str | None:
    """A hint with the symgrad command when ``text`` asks for a derivative instead of giving
    the function (``d/dx x^2``, ``diff(x^2, x)``, ``D[f, x]``, ``∂f/∂x``); else None.

    >>> derivative_request("diff(x^2*y, x)")
    'this is derivative notation; give symgrad the function: symgrad grad "x^2*y" --wrt x'
    """
    order, body, var = 1, "", None
    if m := _DERIVATIVE_FORMS[0].match(text):
        order, var, body = int(m.group(1) or 1), m.group(2), m.group(3)
    elif m := _DERIVATIVE_FORMS[1].match(text):
        body, var = m.group(1), m.group(2)
    elif m := _DERIVATIVE_FORMS[2].match(text):
        order, var = int(m.group(1) or 1), m.group(3)
        body = m.group(4) or m.group(2)
    elif m := _DERIVATIVE_FORMS[3].match(text):
        body, var, order = m.group(1), m.group(2), int(m.group(3) or 1)
    if var is None:
        return None
    body = body.strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1].strip()
    shown = f'"{body}"' if body and len(body) <= 60 and '"' not in body else "EXPR"
    if order > 1:
        command = f"symgrad diff {shown} --wrt {var} --order {order}"
    else:
        command = f"symgrad grad {shown} --wrt {var}"
    return f"this is derivative notation; give symgrad the function: {command}"


def _check_result(expr: sp.Expr, text: str, limits: Limits) -> None:
    undefined = (sp.S.ComplexInfinity, sp.S.NaN, sp.S.Infinity, sp.S.NegativeInfinity)
    calls: list[sp.Expr] = []
    for atom in _atoms(expr, calls):
        if any(atom is u for u in undefined):
            raise ParseError(
                "the expression is undefined everywhere (it divides by zero or takes log(0))",
                source=text,
            )
        if atom is sp.S.ImaginaryUnit:
            raise ParseError(
                "the expression is not real (for example sqrt(-1)); symgrad works with real "
                "numbers",
                source=text,
            )
        if atom.is_Float and not _float_ok(atom):
            raise LimitError(_FLOAT_RANGE, source=text)
        if atom.is_Rational and (
            max(abs(atom.p).bit_length(), atom.q.bit_length()) > limits.max_literal_bits
        ):
            raise LimitError(
                f"a number in the expression has more than {limits.max_literal_bits:,} bits "
                "(raise it with --max-literal-bits)",
                source=text,
            )
    unreal = _complex_constant(calls)
    if unreal is not None:
        from symgrad.notation import expr_text

        root = " (a real root of a negative number is cbrt(x) or root(x, n))"
        root = root if unreal.is_Pow else ""
        raise ParseError(
            f"the expression is not real: {expr_text(unreal)} is not a real number{root}; "
            "symgrad works with real numbers",
            source=text,
        )


def _complex_constant(calls: list[sp.Expr]) -> sp.Expr | None:
    """Of the calls and powers of an expression, one that is a constant and not a real
    number: asin(2), the (-1)**(1/3) of (-8)^(1/3)."""
    for node in reversed(calls):  # the innermost first: asin(2), not log(asin(2))
        if node.is_Pow and node.exp.is_Integer:
            continue
        if not _depends(node) and node.is_extended_real is False:
            return node
    return None


def _depends(node: sp.Expr) -> bool:
    """Whether a variable appears in ``node``: stops at the first one (free_symbols walks
    the whole tree)."""
    stack = [node]
    while stack:
        for a in stack.pop().args:
            if a.is_Symbol:
                return True
            if a.args:
                stack.append(a)
    return False


def _atoms(expr: sp.Expr, calls: list | None = None):
    """The atoms of ``expr`` (repeats possible), visiting each distinct subexpression once:
    a DAG walk, not a tree walk, and no atom is hashed (hashing a Float is slow). Each
    distinct function call and power met on the way is added to ``calls``."""
    if not expr.args:
        yield expr
        return
    seen = {expr}
    stack = [expr]
    if calls is not None and (expr.is_Function or expr.is_Pow):
        calls.append(expr)
    while stack:
        for a in stack.pop().args:
            if not a.args:
                yield a
            elif a not in seen:
                seen.add(a)
                stack.append(a)
                if calls is not None and (a.is_Function or a.is_Pow):
                    calls.append(a)


# A decimal number (Float) must stay within the range of a double: past it, mpmath works
# with exponents of any size, slowly (exp(1e3000) does not finish) and printing them fails.
FLOAT_MAX_LOG2 = 1100  # doubles reach 2^1024, and 2^-1074 below the normal range
_FLOAT_RANGE = (
    "a decimal number in the expression is too large or too small for a double "
    "(about 1e-323 to 1.8e308); write it exactly, as an integer or a power such as 10^400"
)


def _float_ok(number: sp.Float) -> bool:
    size = _log2_abs(number)
    return size == -math.inf or abs(size) <= FLOAT_MAX_LOG2


_UNDEFINED = (sp.zoo, sp.nan, sp.oo, -sp.oo)


def _bits(number: sp.Rational) -> int:
    """Bits of the larger of numerator and denominator."""
    return max(abs(number.p).bit_length(), number.q.bit_length())


def _log2_abs(number: sp.Expr) -> float:
    """log2 |number| for a Number or a constant such as e or pi; -inf for zero."""
    if number.is_Float:
        _, man, exp, bc = number._mpf_
        return exp + bc if man else -math.inf
    if number.is_Rational:
        if number.p == 0:
            return -math.inf
        return math.log2(abs(number.p)) - math.log2(number.q)
    return math.log2(abs(float(number)))


def _coefficient(expr: sp.Expr) -> sp.Expr | None:
    """The numeric factor sympy multiplies into powers and products: 3 in 3*x, 3 itself."""
    if expr.is_Mul:
        expr = expr.as_coeff_Mul()[0]
    if expr.is_Rational or expr.is_Float:  # not nan or zoo: the final check reports those
        return expr if expr is not sp.S.One else None
    return None


class _Cursor:
    """Reading a list of tokens: what the grammars (plain, and with shapes in
    ``symgrad.parsing.matrix``) share: the ``text``, its ``tokens`` (each grammar tokenizes
    in its own way), ``i`` (the next token) and ``depth`` (the nesting so far)."""

    def __init__(self, text: str, limits: Limits, tokens: list[Token]):
        self.text = text
        self.limits = limits
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token) -> ParseError:
        return ParseError(message, column=tok.column, source=self.text)

    def is_op(self, tok: Token, *ops: str) -> bool:
        return tok.kind == "op" and tok.text in ops

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise LimitError(
                f"nesting deeper than {self.limits.max_depth} levels (raise it with --max-depth)",
                column=tok.column,
                source=self.text,
            )

    def expect_close(self, opening: Token) -> None:
        tok = self.peek()
        if self.is_op(tok, ")"):
            self.advance()
            return
        if tok.kind == "end":
            raise self.error(
                f"unbalanced parenthesis: the '(' at column {opening.column} is never closed",
                opening,
            )
        raise self.error(f"expected ')' or an operator, found {tok.text!r}", tok)


class _Parser(_Cursor):
    def __init__(self, text: str, limits: Limits):
        super().__init__(text, limits, tokenize(text, limits))
        self.functions = function_table()
        self.constants = constants()
        self.raw = len(text) >= RAW_MIN_CHARS
        self.floats: dict[str, sp.Float] = {}
        self.names: set[str] = set()  # every variable read, cancelled from the tree or not

    # ------------------------------------------------------------ helpers

    def peek(self) -> Token:
        return self.tokens[self.i]


    # ------------------------------------------------------------ grammar

    def parse(self) -> sp.Expr:
        expr = self.sum()
        tok = self.peek()
        if tok.kind != "end":
            if self.is_op(tok, ")"):
                raise self.error("unbalanced parenthesis: this ')' has no matching '('", tok)
            if self.is_op(tok, ","):
                raise self.error("',' only separates the arguments of a function call", tok)
            if self.is_op(tok, "[", "]"):
                raise self.error(_BRACKETS, tok)
            raise self.error(f"unexpected {tok.text!r}", tok)
        return expr

    def sum(self) -> sp.Expr:
        terms = [self.term()]
        while self.is_op(self.peek(), "+", "-"):
            op = self.advance()
            term = self.term()
            terms.append(term if op.text == "+" else self.neg(term))
        if len(terms) == 1:
            return terms[0]
        return raw_add(terms) if self.raw else sp.Add(*terms)

    def term(self) -> sp.Expr:
        start = self.peek()
        factors = [self.unary()]
        denominators: list[sp.Expr] = []
        while True:
            tok = self.peek()
            if self.is_op(tok, "*"):
                self.advance()
                factors.append(self.unary())
            elif self.is_op(tok, "/"):
                self.advance()
                start = self.peek()
                divisor = self.unary()
                if (divisor.is_Number or not self.raw) and divisor.is_zero:
                    raise self.error("division by zero", start)
                if self.implicit_product_follows():
                    raise self.error(
                        "ambiguous implicit product after '/': write a/(b*c) or (a/b)*c",
                        self.peek(),
                    )
                denominators.append(divisor)
            elif self.implicit_product_follows():
                factors.append(self.power())
            else:
                break
        if len(factors) == 2 and not denominators and factors[0].is_Number and factors[1].is_Add:
            # keep 2*(x + 1) as typed; sympy would distribute it into 2*x + 2
            return _keep_coeff(factors[0], factors[1])
        if len(factors) == 1 and not denominators:
            return factors[0]
        self.check_product(factors, denominators, start)
        if self.raw:
            return raw_mul([*factors, *[raw_pow(d, sp.S.NegativeOne) for d in denominators]])
        return sp.Mul(*factors, *[sp.Pow(d, -1) for d in denominators])

    def check_product(
        self, factors: list[sp.Expr], denominators: list[sp.Expr], tok: Token
    ) -> None:
        """Refuse a product whose numeric factors multiply into a number past the limits."""
        coeffs = [c for c in map(_coefficient, factors + denominators) if c is not None]
        if len(coeffs) < 2:
            return
        if any(c.is_Float for c in coeffs):
            if sum(abs(_log2_abs(c)) for c in coeffs if c != 0) > FLOAT_MAX_LOG2:
                raise LimitError(_FLOAT_RANGE, column=tok.column, source=self.text)
        elif sum(_bits(c) for c in coeffs) > self.limits.max_literal_bits:
            raise self.literal_error(tok)

    def literal_error(self, tok: Token) -> LimitError:
        limit = self.limits.max_literal_bits
        return LimitError(
            f"this computes a number of more than {limit:,} bits; keep huge constants "
            "symbolic (raise it with --max-literal-bits)",
            column=tok.column,
            source=self.text,
        )

    def implicit_product_follows(self) -> bool:
        """True where the next token starts an implicit factor; an error where that is unclear."""
        nxt = self.peek()
        if not (nxt.kind in ("num", "name") or self.is_op(nxt, "(")):
            return False
        prev = self.tokens[self.i - 1]
        if nxt.kind == "num":
            raise self.error(f"missing operator before {nxt.text}: write * for a product", nxt)
        if prev.kind == "num" or prev.kind == "sup" or self.is_op(prev, ")"):
            if prev.kind == "num" and self.after_bare_exponent(self.i - 1):
                raise self.error(
                    "ambiguous implicit product after an exponent: write a^b*c or a^(b*c)", nxt
                )
            return True
        if prev.kind == "name":
            if prev.text == "T" and self.is_op(self.tokens[self.i - 2], "^"):
                raise self.error(f"^T is a transpose{_VECTORS}", prev)
            raise self.error(
                f"missing operator between {prev.text!r} and {nxt.text!r}: write "
                f"{prev.text}*{nxt.text} (a name is never split into letters)",
                nxt,
            )
        return False

    def after_bare_exponent(self, j: int) -> bool:
        j -= 1
        while j >= 0 and self.is_op(self.tokens[j], "+", "-"):
            j -= 1
        return j >= 0 and self.is_op(self.tokens[j], "^", "**")

    def signs(self) -> int:
        sign = 1
        while self.is_op(self.peek(), "+", "-"):
            if self.advance().text == "-":
                sign = -sign
        return sign

    def unary(self) -> sp.Expr:
        sign = self.signs()
        expr = self.power()
        return self.neg(expr) if sign < 0 else expr

    def power(self) -> sp.Expr:
        base = self.atom()
        chain: list[tuple[int, sp.Expr, Token]] = []  # (sign, operand, operator token)
        while True:
            tok = self.peek()
            if self.is_op(tok, "^", "**"):
                self.advance()
                sign = self.signs()
                chain.append((sign, self.atom(), tok))
            elif tok.kind == "sup":
                self.advance()
                chain.append((1, sp.Integer(int(tok.text.translate(_SUP_DIGITS))), tok))
            else:
                break
        if not chain:
            return base
        if len(chain) > self.limits.max_depth:
            # a tower nests like parentheses do, and sympy recurses over it the same way
            raise LimitError(
                f"power tower higher than {self.limits.max_depth} levels "
                "(raise it with --max-depth)",
                column=chain[0][2].column,
                source=self.text,
            )
        # right-associative: a^b^c is a^(b^c); fold from the top of the tower
        operands = [base] + [operand for _, operand, _ in chain]
        result = operands[-1]
        for k in range(len(chain) - 1, -1, -1):
            sign, _, tok = chain[k]
            if sign < 0:
                result = self.neg(result)
            result = self.pow(operands[k], result, tok)
        return result

    def pow(self, base: sp.Expr, exponent: sp.Expr, tok: Token) -> sp.Expr:
        if exponent.is_negative and base.is_zero:  # exponent first: is_zero of a sum is costly
            raise self.error("division by zero (0 to a negative power)", tok)
        if exponent.is_Number:
            self.check_power(base, exponent, tok)
        elif base.is_zero and not self.raw and exponent.free_symbols:
            # 0^u is 0 wherever it is defined (u > 0), and so is its derivative
            return sp.S.Zero
        return raw_pow(base, exponent) if self.raw else sp.Pow(base, exponent)

    def neg(self, expr: sp.Expr) -> sp.Expr:
        return raw_mul([sp.S.NegativeOne, expr]) if self.raw else -expr

    def check_power(self, base: sp.Expr, exponent: sp.Expr, tok: Token) -> None:
        """Refuse a constant power whose value (or numeric factor) is past the limits.

        sympy computes 9^9^9 and the 3^1000 of (3x)^1000 as soon as the node is built, in one
        call that no time budget can interrupt.
        """
        coeff = base if base in (sp.E, sp.pi) else _coefficient(base)
        if coeff is None or coeff.is_zero or coeff in (1, -1):
            return
        if exponent.is_Float or coeff.is_Float or not coeff.is_Rational:
            if not (exponent.is_Float or coeff.is_Float):
                return  # e^1000 and pi^1000 stay symbolic
            try:
                size = _log2_abs(coeff) * abs(float(exponent))
            except OverflowError:
                size = math.inf
            if abs(size) > FLOAT_MAX_LOG2:
                raise LimitError(_FLOAT_RANGE, column=tok.column, source=self.text)
            return
        # exact: bits * p / q > limit, in integers (p may be too large for a float)
        if exponent.q.bit_length() > 64 or (
            _bits(coeff) * abs(exponent.p) > self.limits.max_literal_bits * exponent.q
        ):
            raise self.literal_error(tok)

    def atom(self) -> sp.Expr:
        tok = self.advance()
        if tok.kind == "num":
            return self.number(tok)
        if tok.kind == "name":
            return self.name(tok)
        if self.is_op(tok, "["):
            return self.vector(tok)
        if self.is_op(tok, "("):
            self.enter(tok)
            if self.is_op(self.peek(), ")"):
                raise self.error("empty parentheses: put an expression inside", self.peek())
            expr = self.sum()
            self.expect_close(tok)
            self.depth -= 1
            return expr
        if tok.kind == "end":
            raise self.error("the expression ends too early: expected a number, a name or '('", tok)
        if self.is_op(tok, ")"):
            raise self.error("unexpected ')': expected a number, a name or '('", tok)
        if tok.kind == "sup":
            raise self.error("a superscript needs something to raise, as in x²", tok)
        raise self.error(f"unexpected {tok.text!r}: expected a number, a name or '('", tok)

    def number(self, tok: Token) -> sp.Expr:
        text = normalize_name(tok.text).lower()  # NFKC: full-width digits become ASCII
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
            return sp.Integer(int(text))
        # the decimal exponent of the value: 123.4e5 is 1.234e7
        whole, _, fraction = mantissa.partition(".")
        whole = whole.lstrip("0")
        lead = len(whole) - 1 if whole else -len(fraction)
        if len(exponent.lstrip("+-")) > 6:
            magnitude = math.inf if not exponent.startswith("-") else -math.inf
        else:
            magnitude = int(exponent or "0") + lead
        if mantissa.strip("0.") and not -324 <= magnitude <= 308:
            raise LimitError(_FLOAT_RANGE, column=tok.column, source=self.text)
        # double precision whatever the spelling: Float("1e-300") alone would carry 300
        # digits; a data set repeats its numbers
        if text not in self.floats:
            self.floats[text] = sp.Float(text, 15)
        return self.floats[text]

    def name(self, tok: Token) -> sp.Expr:
        name = normalize_name(tok.text)
        if name.startswith("__"):
            # Python's dunder names (__import__, __class__): never a variable a person means
            raise self.error(f"names starting with '__' are reserved: rename {name!r}", tok)
        if "." in name:
            return self.qualified(name, tok)
        nxt = self.peek()
        if self.is_op(nxt, "("):
            if tok.text == "σ":  # σ(z) is the sigmoid, as \sigma(z) is in LaTeX
                return self.call("sigmoid", tok)
            return self.call(name, tok)
        if name in self.functions:
            if self.is_op(nxt, "^", "**"):
                raise self.error(f"write {name}(x)^2 for the square of {name}(x)", tok)
            raise self.error(f"{name} is a function: write {name}(...)", tok)
        if name in self.constants:
            return self.constants[name]
        return self.var(name)

    def var(self, name: str) -> sp.Symbol:
        """The variable ``name``, remembered as typed."""
        self.names.add(name)
        return symbol(name)

    def qualified(self, name: str, tok: Token) -> sp.Expr:
        """``np.log(x)``, ``torch.sigmoid(x)``, ``math.pi``: a function or constant of the
        table behind a module prefix pasted from code."""
        prefix, _, last = name.rpartition(".")
        if last in ("T", "mT", "H") or last == "transpose":
            raise self.error(f"'{name}' is a transpose{_VECTORS}", tok)
        known = prefix in PREFIXES
        called = self.is_op(self.peek(), "(")
        if known and called and last in self.functions:
            return self.call(last, tok)
        if known and not called and last in ("pi", "e"):
            return self.constants[last]
        if known and called:
            raise self.error(f"{self.unknown_function_message(last)} (read from '{name}')", tok)
        if known and last in self.functions:
            raise self.error(f"{last} is a function: write {name}(...)", tok)
        if last in self.functions:
            raise self.error(
                f"'{name}': attribute access is not supported; write {last}(...) without "
                f"'{prefix}.' (symgrad reads the prefixes np., math., torch., F. and the like)",
                tok,
            )
        raise self.error(
            f"'{name}': attribute access is not supported (a name is letters, digits and _, "
            "as in x_1; a decimal number needs a digit, as in 0.5)",
            tok,
        )

    def call(self, name: str, tok: Token) -> sp.Expr:
        spec = self.functions.get(name)
        if spec is None:
            raise self.error(self.unknown_function_message(name), tok)
        opening = self.advance()
        self.enter(opening)
        args = []
        if self.is_op(self.peek(), ")"):
            raise self.error(f"{name}() needs an argument, as in {name}(x)", self.peek())
        while True:
            args.append(self.sum())
            if self.is_op(self.peek(), ","):
                self.advance()
                continue
            self.expect_close(opening)
            break
        self.depth -= 1
        if not spec.accepts(len(args)):
            plural = "s" if spec.arity[-1] > 1 or spec.variadic else ""
            raise self.error(
                f"{name} takes {spec.arity_text} argument{plural}, got {len(args)}", tok
            )
        for arg in args:
            if arg.is_Float and not _float_ok(arg):
                raise LimitError(_FLOAT_RANGE, column=tok.column, source=self.text)
            if arg in _UNDEFINED:
                raise self.error(f"{name}(...) of an undefined value (such as log(0))", tok)
        if spec.operator == "^":
            return self.pow(args[0], args[1], tok)
        try:
            if self.raw and isinstance(spec.build, FunctionClass):
                value = spec.build(*args, evaluate=False)
            else:
                value = spec.build(*args)
        except (ValueError, TypeError, ArithmeticError) as exc:
            # sympy refuses some constant arguments outright: max(0, zoo), atan2(0, nan)
            raise self.error(f"{name}(...) is undefined here ({exc})", tok) from None
        if isinstance(value, sp.MatrixBase):
            return self.vector_value(value, name, tok)
        if value.is_Float and not _float_ok(value):
            # exp(1000.0): a number past the double range, computed from a decimal argument
            raise LimitError(_FLOAT_RANGE, column=tok.column, source=self.text)
        return value

    # ------------------------------------------------------------ vectors

    def whole(self, first: Token) -> bool:
        """True when the construct starting at ``first`` is the whole input (so far read)."""
        return self.tokens[0] is first and self.peek().kind == "end"

    def vector(self, opening: Token) -> sp.Expr:
        if self.tokens[0] is not opening:
            raise self.error(_BRACKETS, opening)
        self.enter(opening)
        if self.is_op(self.peek(), "]"):
            raise self.error("empty brackets: list the outputs, as in [x*y, x + y]", self.peek())
        items = [self.sum()]
        while self.is_op(self.peek(), ","):
            self.advance()
            items.append(self.sum())
        tok = self.peek()
        if not self.is_op(tok, "]"):
            if tok.kind == "end":
                raise self.error(
                    f"unbalanced bracket: the '[' at column {opening.column} is never closed",
                    opening,
                )
            raise self.error(f"expected ',' or ']', found {tok.text!r}", tok)
        self.advance()
        self.depth -= 1
        if not self.whole(opening):
            raise self.error(
                "a vector [...] is the whole expression: symgrad does no arithmetic on vectors",
                self.peek(),
            )
        return sp.ImmutableMatrix(items)

    def vector_value(self, value: sp.MatrixBase, name: str, tok: Token) -> sp.Expr:
        """A vector function's value: indexed with [k], or the whole input."""
        if self.is_op(self.peek(), "["):
            opening = self.advance()
            index = self.advance()
            if index.kind != "num" or not index.text.isdigit():
                raise self.error(f"an index is a whole number, as in {name}(...)[0]", index)
            k = int(index.text)
            if not self.is_op(self.peek(), "]"):
                raise self.error("expected ']' after the index", self.peek())
            self.advance()
            if k >= len(value):
                raise self.error(
                    f"{name} has {len(value)} outputs, [0] to [{len(value) - 1}]"
                    if len(value) > 1
                    else f"{name} of one input has one output, [0]",
                    opening,
                )
            return value[k]
        if self.whole(tok):
            return value
        raise self.error(
            f"{name}(...) is a vector: take one output as {name}(...)[0], or give the whole "
            "vector as the expression",
            tok,
        )

    def unknown_function_message(self, name: str) -> str:
        if name in self.constants or not self.looks_like_function(name):
            return f"'{name}(' — {name} is not a function; write {name}*(...) for a product"
        if name in _VECTOR_WORDS:
            return (
                f"unknown function '{name}': {name} works on vectors or matrices, which are not "
                "read in a scalar expression; write it out with scalars (w1*x1 + w2*x2)"
            )
        same = lookup(name, loose=True)
        if same is not None:  # ReLU, Sigmoid, LogSumExp
            return f"unknown function '{name}': did you mean {same.name}? (names are lower case)"
        split = self.product_split(name)
        if split is not None:
            head, known = split
            return f"unknown function '{name}': for a product write {head}*{known}(...)"
        close = difflib.get_close_matches(name, list(self.functions), n=1, cutoff=0.8)
        if not close:
            close = [
                c
                for c in difflib.get_close_matches(name, list(self.functions), n=3, cutoff=0.6)
                if c[0].lower() == name[0].lower()
            ][:1]
        hint = f"did you mean {close[0]}?" if close else "see 'symgrad functions' for the list"
        return f"unknown function '{name}': {hint} (for a product write {name}*(...))"

    def product_split(self, name: str) -> tuple[str, str] | None:
        """``ylog`` -> (y, log): a short variable name written against a function's name."""
        for known in sorted(self.functions, key=len, reverse=True):
            if name.endswith(known) and len(known) > 1:
                head = name[: -len(known)]
                if re.fullmatch(r"[^\W\d_](?:_?\d+)?", head):
                    return head, known
        return None

    def looks_like_function(self, name: str) -> bool:
        # a one-letter name before '(' is almost always a product typed without '*'
        return len(name) > 1


_VECTOR_WORDS = frozenset(
    "dot matmul mm bmm mv inner outer transpose trace tr det inv inverse diag einsum".split()
)
_SUP_DIGITS = str.maketrans(_SUPERSCRIPTS, "0123456789-")
_BRACKETS = (
    "brackets make a vector around the whole expression, as in [x*y, x + y], or take one "
    "output of a vector function, as in softmax(a, b)[0]; use parentheses to group"
)
