"""Text to sympy tree, by a small hand-written parser that never evaluates user text.

Grammar (loosest binding first)::

    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary | implicit-factor)*
    unary   := ("+" | "-")* power                  -x^2 is -(x^2)
    power   := atom (("^" | "**") ("+" | "-")* atom | superscript)*   right-associative
    atom    := number | name | name "(" sum ("," sum)* ")" | "(" sum ")"

Implicit multiplication only where it cannot be misread: after a number (``3x``, ``2(x+1)``)
and after a closing parenthesis (``(x+1)(x-1)``, ``(x+1)y``). Sums, products and power towers
are loops, so only parentheses and calls recurse, and their depth is bounded.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import sympy as sp
from sympy.core.mul import _keep_coeff

from symgrad.errors import LimitError, ParseError
from symgrad.functions import constants, function_table, normalize_name, symbol
from symgrad.limits import DEFAULT_LIMITS, FROM_FILE, Limits

_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<sup>[{_SUPERSCRIPTS}]+)
  | (?P<name>[^\W\d](?:(?![{_SUPERSCRIPTS}])\w)*)
  | (?P<op>\*\*|[-+*/^(),−×·÷])
    """,
    re.VERBOSE,
)
# unicode spellings of the ASCII operators
_OP_ALIASES = {"−": "-", "×": "*", "·": "*", "÷": "/"}
_BAD_CHAR_HINTS = {
    "'": "strings are not part of an expression",
    '"': "strings are not part of an expression",
    ".": "attribute access is not supported; a decimal number needs a digit, as in 0.5",
    "[": "brackets are not supported; use parentheses",
    "]": "brackets are not supported; use parentheses",
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
    "\\": "LaTeX input is not supported here; write plain syntax such as x^2/(1+y)",
}


@dataclass(frozen=True)
class Token:
    kind: str  # "num" | "name" | "sup" | "op" | "end"
    text: str
    column: int  # 1-based


def tokenize(text: str, limits: Limits = DEFAULT_LIMITS) -> list[Token]:
    """Split ``text`` into tokens; a character that belongs to no token is a ParseError."""
    tokens: list[Token] = []
    pos = 0
    n = len(text)
    match = _TOKEN.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            ch = text[pos]
            hint = _BAD_CHAR_HINTS.get(ch, "remove it or write it as plain math")
            raise ParseError(f"unexpected character {ch!r}: {hint}", column=pos + 1, source=text)
        kind = m.lastgroup
        if kind != "ws":
            value = m.group()
            if kind == "op":
                value = _OP_ALIASES.get(value, value)
            tokens.append(Token(kind, value, pos + 1))
            if len(tokens) > limits.max_tokens:
                raise LimitError(
                    f"expression has more than {limits.max_tokens:,} tokens (limit max_tokens)",
                    source=text,
                )
        pos = m.end()
    tokens.append(Token("end", "", n + 1))
    return tokens


def parse(text: str, limits: Limits = DEFAULT_LIMITS, *, max_chars: int | None = None) -> sp.Expr:
    """Parse what a person types into a sympy expression with real symbols.

    >>> parse("y*log(w*x+b)")
    y*log(b + w*x)

    Raises ParseError (with the 1-based column) for text that is not an expression and
    LimitError for input past a bound in ``limits``.
    """
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
    parser = _Parser(text, limits)
    expr = parser.parse()
    _check_result(expr, text, limits)
    return expr


def _check_result(expr: sp.Expr, text: str, limits: Limits) -> None:
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ParseError(
            "the expression is undefined everywhere (it divides by zero or takes log(0))",
            source=text,
        )
    if expr.has(sp.I):
        raise ParseError(
            "the expression is not real (for example sqrt(-1)); symgrad works with real numbers",
            source=text,
        )
    for number in expr.atoms(sp.Rational):
        if max(abs(number.p).bit_length(), number.q.bit_length()) > limits.max_literal_bits:
            raise LimitError(
                f"a number in the expression has more than {limits.max_literal_bits:,} bits "
                "(limit max_literal_bits)",
                source=text,
            )


class _Parser:
    def __init__(self, text: str, limits: Limits):
        self.text = text
        self.limits = limits
        self.tokens = tokenize(text, limits)
        self.i = 0
        self.depth = 0
        self.functions = function_table()
        self.constants = constants()

    # ------------------------------------------------------------ helpers

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

    # ------------------------------------------------------------ grammar

    def parse(self) -> sp.Expr:
        expr = self.sum()
        tok = self.peek()
        if tok.kind != "end":
            if self.is_op(tok, ")"):
                raise self.error("unbalanced parenthesis: this ')' has no matching '('", tok)
            if self.is_op(tok, ","):
                raise self.error("',' only separates the arguments of a function call", tok)
            raise self.error(f"unexpected {tok.text!r}", tok)
        return expr

    def sum(self) -> sp.Expr:
        terms = [self.term()]
        while self.is_op(self.peek(), "+", "-"):
            op = self.advance()
            term = self.term()
            terms.append(term if op.text == "+" else -term)
        return terms[0] if len(terms) == 1 else sp.Add(*terms)

    def term(self) -> sp.Expr:
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
                if divisor.is_zero:
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
        return sp.Mul(*factors, *[sp.Pow(d, -1) for d in denominators])

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
        return -expr if sign < 0 else expr

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
                result = -result
            result = self.pow(operands[k], result, tok)
        return result

    def pow(self, base: sp.Expr, exponent: sp.Expr, tok: Token) -> sp.Expr:
        if exponent.is_negative and base.is_zero:  # exponent first: is_zero of a sum is costly
            raise self.error("division by zero (0 to a negative power)", tok)
        if base.is_Rational and exponent.is_Rational and abs(base) != 1 and not base.is_zero:
            bits = max(abs(base.p).bit_length(), base.q.bit_length())
            limit = self.limits.max_literal_bits
            if exponent.q.bit_length() > 64 or bits * abs(exponent.p) / exponent.q > limit:
                raise LimitError(
                    f"this power is a number of more than {limit:,} bits "
                    "(limit max_literal_bits); keep huge constants symbolic",
                    column=tok.column,
                    source=self.text,
                )
        return sp.Pow(base, exponent)

    def atom(self) -> sp.Expr:
        tok = self.advance()
        if tok.kind == "num":
            return self.number(tok)
        if tok.kind == "name":
            return self.name(tok)
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

    def number(self, tok: Token) -> sp.Expr:
        text = normalize_name(tok.text)  # NFKC: full-width digits become ASCII
        digits = len(text.split("e")[0].split("E")[0].replace(".", ""))
        if digits * 3.33 > self.limits.max_literal_bits:
            raise LimitError(
                f"number literal of {digits:,} digits is over the limit of "
                f"{self.limits.max_literal_bits:,} bits (limit max_literal_bits)",
                column=tok.column,
                source=self.text,
            )
        if any(c in text for c in ".eE"):
            return sp.Float(text)
        return sp.Integer(int(text))

    def name(self, tok: Token) -> sp.Expr:
        name = normalize_name(tok.text)
        nxt = self.peek()
        if self.is_op(nxt, "("):
            return self.call(name, tok)
        if name in self.functions:
            raise self.error(f"{name} is a function: write {name}(...)", tok)
        if name in self.constants:
            return self.constants[name]
        return symbol(name)

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
        if len(args) not in spec.arity:
            wanted = " or ".join(str(n) for n in spec.arity)
            plural = "s" if spec.arity[-1] > 1 else ""
            raise self.error(f"{name} takes {wanted} argument{plural}, got {len(args)}", tok)
        return spec.build(*args)

    def unknown_function_message(self, name: str) -> str:
        if name in self.constants or not self.looks_like_function(name):
            return f"'{name}(' — {name} is not a function; write {name}*(...) for a product"
        close = difflib.get_close_matches(name, list(self.functions), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see 'symgrad functions' for the list"
        return f"unknown function '{name}': {hint} (for a product write {name}*(...))"

    def looks_like_function(self, name: str) -> bool:
        # a one-letter name before '(' is almost always a product typed without '*'
        return len(name) > 1


_SUP_DIGITS = str.maketrans(_SUPERSCRIPTS, "0123456789")
