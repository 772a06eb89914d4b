r"""LaTeX math, as pasted from notes or a paper, to the same sympy tree the plain parser builds.

A tokenizer and a recursive-descent parser of symgrad's own: user text never reaches
``eval``, ``sympify`` or sympy's ``parse_latex``, and the plain parser's bounds (length,
tokens, nesting, literal size) apply through the same ``Limits``.

What a LaTeX reader is expected to do, and this one does::

    $y = wx + b$             a leading "y =" is dropped; letters side by side multiply
    w^2x                     a single-token exponent: w^{2} x
    e^{-x^2}                 e is Euler's number
    \frac{y}{wx+b}x          \frac, \cdot, \times, \sqrt[n]{}, \left( \right), [ ], | |
    \log, \ln, \exp, \sin^2  function commands; log(...) typed without a backslash works too
    \sigma(z)                the sigmoid when applied; a variable otherwise
    x_1, x_{10}, \theta_t    subscripts are part of the name: x_1, x_10, theta_t
    f(...), f[...]           a formula wrapped in "f(...)" is the formula itself
    \begin{pmatrix} f_1 \\ f_2 \end{pmatrix}   a vector, as is \operatorname{softmax}(a, b)
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy as sp

from symgrad.errors import LimitError, ParseError
from symgrad.functions import (
    GREEK,
    Abs,
    function_table,
    latex_commands,
    lookup,
    normalize_name,
    symbol,
)
from symgrad.limits import DEFAULT_LIMITS, Limits, current_limits
from symgrad.parsing.plain import Token, _check_result, _Parser, name_trap, remember_names

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|~)
  | (?P<cmd>\\(?:[A-Za-z]+|.))
  | (?P<num>\d+(?:\.\d+)?|\.\d+)
  | (?P<letter>[^\W\d_])
  | (?P<op>[-+*/^_(){}\[\],=|&'.−×·÷])
    """,
    re.VERBOSE | re.DOTALL,
)
_OP_ALIASES = {"−": "-", "×": "*", "·": "*", "÷": "/"}
# commands that only space or size things
_IGNORED = frozenset(
    ", ; : ! > quad qquad displaystyle textstyle limits nolimits big Big bigg Bigg bigl bigr "
    "Bigl Bigr".split()
) | {" "}
_BINARY = {"cdot": "*", "times": "*", "ast": "*", "div": "/"}


@lru_cache(maxsize=1)
def _commands() -> dict[str, str]:
    """\\command -> the symgrad function it calls, from the table; \\sigma is the sigmoid too,
    but only when applied to something."""
    return {**{c: entry.name for c, entry in latex_commands().items()}, "sigma": "sigmoid"}


@lru_cache(maxsize=1)
def _bare_functions() -> list[str]:
    """Names that are functions when typed without a backslash right before '(' (``ylog(wx+b)``):
    every name of the table written with letters only, longest first (sinh before sin)."""
    names = [n for n in function_table() if n.isascii() and n.isalpha() and len(n) > 1]
    return sorted(names, key=len, reverse=True)


_INVERSES = {"sin": "asin", "cos": "acos", "tan": "atan"}
_INVERSES.update({f"{k}h": f"{v}h" for k, v in _INVERSES.items()})
_GREEK = frozenset(GREEK.values()) | {"Upsilon"}
_GREEK_VARIANTS = {
    **{"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi"},
    **{"varrho": "rho", "varsigma": "sigma", "varpi": "pi"},
}
# \mathit{lr} is the variable lr; \operatorname{relu} (or ReLU) the function relu
_NAME_STYLES = frozenset(
    "mathit mathrm text textit textrm mathbf boldsymbol bm mathsf operatorname mathcal".split()
)
# the upright styles a paper sets a function's name in: applied to something, it is a function
_FUNCTION_STYLES = frozenset("operatorname mathrm text textrm mathsf".split())
# letters that name a function when applied to something: f(\theta_t) is never f*theta_t
_FUNCTION_LETTERS = frozenset("fgh")
_DERIVATIVE = re.compile(
    r"\\[dt]?frac\s*\{\s*(?:\\mathrm\{d\}|d)(?:\^\{?\d+\}?)?\s*([^{}]*)\}"
    r"\s*\{\s*(?:\\mathrm\{d\}|d)\s*([A-Za-z]|\\[A-Za-z]+)"
)
_TRANSPOSE = (
    "a transpose, for vectors and matrices, which are not read in a scalar expression; write "
    "the sum out (w_1 x_1 + w_2 x_2)"
)
# \mathrm{e} and \mathrm{\pi} are the constants, as a bare e is
_UPRIGHT_CONSTANTS = {"e": sp.E, "pi": sp.pi}
_UNSUPPORTED = {
    "sum": "sums over an index are not supported; write the terms out",
    "prod": "products over an index are not supported; write the factors out",
    "int": "integrals are not supported",
    "partial": "write the function itself: symgrad computes its derivatives",
    "nabla": "write the function itself: symgrad computes its gradient",
    "infty": "infinity is not a number symgrad differentiates at",
    "lim": "limits are not supported",
}


def tokenize_latex(text: str, limits: Limits = DEFAULT_LIMITS, offset: int = 0) -> list[Token]:
    """Split LaTeX into tokens: one letter is one token (``wx`` is w, x), a command is one."""
    tokens: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ParseError(
                f"unexpected character {text[pos]!r} in LaTeX",
                column=offset + pos + 1,
                source=None,
            )
        kind, value = m.lastgroup, m.group()
        if kind == "cmd" and value[1:] in _IGNORED:
            kind = "ws"
        if kind == "letter" and (trap := name_trap(value)) is not None:
            raise ParseError(trap[1], column=offset + pos + 1, source=None)
        if kind != "ws":
            if kind == "op":
                value = _OP_ALIASES.get(value, value)
            tokens.append(Token(kind, value, offset + pos + 1))
            if len(tokens) > limits.max_tokens:
                raise LimitError(
                    f"expression has more than {limits.max_tokens:,} tokens (limit max_tokens)"
                )
        pos = m.end()
    tokens.append(Token("end", "", offset + n + 1))
    return tokens


def _unwrap(text: str) -> tuple[str, int]:
    """Drop the math delimiters around a formula: $...$, $$...$$, \\(...\\), \\[...\\]."""
    stripped = text.strip()
    start = text.index(stripped[0]) if stripped else 0
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if (
            stripped.startswith(left)
            and stripped.endswith(right)
            and len(stripped) >= len(left) + len(right)
        ):
            inner = stripped[len(left) : len(stripped) - len(right)]
            return inner, start + len(left)
    return stripped, start


def parse_latex(text: str, limits: Limits | None = None, *, max_chars: int | None = None):
    r"""Parse a LaTeX formula into a sympy expression with real symbols.

    >>> parse_latex(r"$y = \frac{y}{wx+b}x$")
    x*y/(b + w*x)
    >>> parse_latex("$y=e^wx+e^b$")
    x*exp(w) + exp(b)
    """
    limits = limits or current_limits()
    cap = limits.max_chars if max_chars is None else max_chars
    if len(text) > cap:
        raise LimitError(
            f"expression is {len(text):,} characters, over the limit of {cap:,} "
            "(raise it with --max-chars, or read a large expression with --file)"
        )
    inner, offset = _unwrap(text)
    if "$" in inner:
        column = offset + inner.index("$") + 1
        raise ParseError(
            "give one formula: '$' only opens and closes it", column=column, source=text
        )
    if not inner.strip():
        raise ParseError("empty formula: type something such as x^2 + y", column=1, source=text)
    derivative = _DERIVATIVE.search(inner)
    if derivative is not None:  # \frac{d}{dx} would read as d/(d*x) times what follows
        var = derivative.group(2).lstrip("\\")
        raise ParseError(
            f"\\frac{{d}}{{d{var}}} asks for a derivative: give symgrad the function, and the "
            f"variable with --wrt {var} (symgrad grad EXPR --wrt {var})",
            column=offset + derivative.start() + 1,
            source=text,
        )
    parser = _LatexParser(text, inner, offset, limits)
    expr = parser.parse()
    _check_result(expr, text, limits)
    remember_names(expr, parser.names)
    return expr


class _LatexParser(_Parser):
    """The plain parser's helpers (errors, depth, literal bounds) with a LaTeX grammar."""

    def __init__(self, source: str, inner: str, offset: int, limits: Limits):
        super().__init__("0", limits)
        self.text = source
        try:
            self.tokens = tokenize_latex(inner, limits, offset)
        except (ParseError, LimitError) as err:
            err.source = source
            raise
        self.abs_depth = 0
        self.start = 0
        for tok in self.tokens:  # said first: \sum_{i=1}^{n} would fail on its braces
            if tok.kind == "cmd" and tok.text[1:] in _UNSUPPORTED:
                raise self.error(f"\\{tok.text[1:]}: {_UNSUPPORTED[tok.text[1:]]}", tok)

    # ------------------------------------------------------------ helpers

    def is_cmd(self, tok: Token, *names: str) -> bool:
        return tok.kind == "cmd" and tok.text[1:] in names

    def expect(self, text: str, opening: Token | None = None) -> Token:
        tok = self.peek()
        if (tok.kind == "op" or tok.kind == "cmd") and tok.text == text:
            return self.advance()
        if tok.kind == "end" and opening is not None:
            raise self.error(
                f"unbalanced {opening.text!r} at column {opening.column}: expected {text!r}",
                opening,
            )
        found = repr(tok.text) if tok.kind != "end" else "the end"
        raise self.error(f"expected {text!r}, found {found}", tok)

    def matching(self, start: int) -> int:
        """Index of the token closing the group opened at ``start`` (-1 if none)."""
        depth = 0
        for k in range(start, len(self.tokens)):
            tok = self.tokens[k]
            if tok.kind == "op" and tok.text in "([{" or self.is_cmd(tok, "left"):
                depth += 1
            elif tok.kind == "op" and tok.text in ")]}" or self.is_cmd(tok, "right"):
                depth -= 1
                if depth == 0:
                    # \right) is two tokens; the group ends at its delimiter
                    return k + 1 if self.is_cmd(tok, "right") else k
        return -1

    # ------------------------------------------------------------ the formula

    def parse(self):
        self.skip_lhs()
        self.skip_wrapper()
        self.start = self.i
        first = self.peek()
        if self.is_cmd(first, "begin"):
            return self.pmatrix()
        expr = self.sum()
        tok = self.peek()
        if tok.kind != "end":
            if self.is_op(tok, "="):
                raise self.error("give one formula: only a leading 'y =' may be dropped", tok)
            if self.is_op(tok, ")", "]", "}") or self.is_cmd(tok, "right"):
                raise self.error(f"unbalanced {tok.text!r}: nothing opened it", tok)
            if self.is_op(tok, "'"):
                if self.is_op(self.tokens[self.i + 1], "("):
                    raise self.error("f'(x) is a derivative: give symgrad the function itself", tok)
                raise self.error(f"w' is {_TRANSPOSE}", tok)
            raise self.error(f"unexpected {tok.text!r}", tok)
        return expr

    def skip_lhs(self) -> None:
        """Drop a leading ``y =`` or ``f(w, b) =``: a name, maybe with arguments, then '='."""
        equals = [k for k, t in enumerate(self.tokens) if self.is_op(t, "=")]
        if not equals:
            return
        k = equals[0]
        lhs = self.tokens[:k]
        allowed = {"(", ")", "{", "}", ",", "_", "[", "]"}
        braces = 0
        plain_name = True
        for t in lhs:
            braces += (t.text == "{") - (t.text == "}")
            # anything goes inside braces (\theta_{t+1} =); outside them, a name and arguments
            if braces == 0 and not (t.kind in ("letter", "num", "cmd") or t.text in allowed):
                plain_name = False
            if t.kind == "cmd" and t.text[1:] in _BINARY:
                plain_name = False
        if lhs and lhs[0].kind in ("letter", "cmd") and plain_name:
            self.i = k + 1
            if self.peek().kind == "end":
                raise self.error("nothing after '=': give the formula", self.tokens[k])

    def skip_wrapper(self) -> None:
        """``f(...)`` or ``f[...]`` around the whole formula names it: read what is inside."""
        if self.i + 1 >= len(self.tokens):
            return
        tok, nxt = self.tokens[self.i], self.tokens[self.i + 1]
        if (
            tok.kind == "letter"
            and tok.text == "f"
            and (self.is_op(nxt, "(", "[") or self.is_cmd(nxt, "left"))
        ):
            close = self.matching(self.i + 1)
            if close == len(self.tokens) - 2 and not self.one_name(self.i + 2, close):
                self.i += 1

    def one_name(self, start: int, stop: int) -> bool:
        """Whether the tokens from ``start`` to ``stop`` are one name (``\\theta_t``): f of a
        name is a function applied (``f(\\theta_t)``), not a formula named f."""
        inner = [t for t in self.tokens[start:stop] if not self.is_cmd(t, "right")]
        if inner and self.is_op(inner[0], "(", "["):
            inner = inner[1:]  # after \left
        if not inner or inner[0].kind not in ("letter", "cmd"):
            return False
        rest = inner[1:]
        return not rest or (
            self.is_op(rest[0], "_")
            and all(t.kind in ("letter", "num") or t.text in "{}" for t in rest[1:])
        )

    def pmatrix(self):
        """``\\begin{pmatrix} f_1 \\\\ f_2 \\end{pmatrix}``, the whole formula: a vector."""
        begin = self.advance()
        env = self.braced_word(begin)
        if env not in ("pmatrix", "bmatrix", "matrix", "Bmatrix", "vmatrix"):
            raise self.error(f"only a column vector (pmatrix) is read, not {env}", begin)
        self.enter(begin)
        items = [self.sum()]
        while self.is_cmd(self.peek(), "\\"):
            self.advance()
            if self.is_cmd(self.peek(), "end"):
                break
            items.append(self.sum())
        tok = self.peek()
        if self.is_op(tok, "&"):
            raise self.error("only a column vector is read: one entry per row", tok)
        end = self.expect("\\end", begin)
        if self.braced_word(end) != env:
            raise self.error(f"\\begin{{{env}}} is closed by another environment", end)
        self.depth -= 1
        if self.peek().kind != "end":
            raise self.error("a vector is the whole formula", self.peek())
        return sp.ImmutableMatrix(items)

    def braced_word(self, command: Token) -> str:
        """The letters of ``{name}`` after ``command`` (``\\begin{pmatrix}``, ``\\mathit{wx}``)."""
        opening = self.expect("{", command)
        parts = []
        while not self.is_op(self.peek(), "}"):
            tok = self.advance()
            if tok.kind in ("letter", "num") or self.is_op(tok, "_"):
                parts.append(tok.text)
            elif self.is_cmd(tok, "_"):
                parts.append("_")
            elif tok.kind == "end":
                raise self.error(f"'{{' at column {opening.column} is never closed", opening)
            else:
                raise self.error(f"{command.text}{{...}} holds a name, not {tok.text!r}", tok)
        self.advance()
        if not parts:
            raise self.error(f"empty {command.text}{{}}", opening)
        return "".join(parts)

    # ------------------------------------------------------------ grammar

    def sum(self):
        terms = [self.term()]
        while self.is_op(self.peek(), "+", "-"):
            op = self.advance()
            term = self.term()
            terms.append(term if op.text == "+" else -term)
        return terms[0] if len(terms) == 1 else sp.Add(*terms)

    def term(self):
        factors = [self.unary()]
        denominators = []
        while True:
            tok = self.peek()
            op = _BINARY.get(tok.text[1:]) if tok.kind == "cmd" else tok.text
            if tok.kind in ("op", "cmd") and op == "*":
                self.advance()
                factors.append(self.unary())
            elif tok.kind in ("op", "cmd") and op == "/":
                self.advance()
                start = self.peek()
                divisor = self.unary()
                if divisor.is_zero:
                    raise self.error("division by zero", start)
                if self.starts_factor(self.peek()):
                    raise self.error(
                        "ambiguous product after '/': write \\frac{a}{bc} or (a/b)c", self.peek()
                    )
                denominators.append(divisor)
            elif self.starts_factor(tok):
                if tok.kind == "num":
                    raise self.error(
                        f"missing operator before {tok.text}: a number after a factor is "
                        "ambiguous (write x_2 for a subscript, 2x or x \\cdot 2 for a product)",
                        tok,
                    )
                factors.append(self.power())
            else:
                break
        if len(factors) == 1 and not denominators:
            return factors[0]
        return sp.Mul(*factors, *[sp.Pow(d, -1) for d in denominators])

    def starts_factor(self, tok: Token) -> bool:
        if tok.kind in ("num", "letter"):
            return True
        if tok.kind == "op":
            return tok.text in "([{" or (tok.text == "|" and self.abs_depth == 0)
        if tok.kind == "cmd":
            name = tok.text[1:]
            return name not in _BINARY and name not in ("right", "end", "rvert", "\\", "}")
        return False

    def unary(self):
        sign = self.signs()
        expr = self.power()
        return -expr if sign < 0 else expr

    def power(self):
        base = self.primary()
        tok = self.peek()
        if not self.is_op(tok, "^"):
            return base
        self.advance()
        if self.transposed():
            raise self.error(f"^T is {_TRANSPOSE}", tok)
        exponent = self.exponent(tok)
        if self.is_op(self.peek(), "^"):
            raise self.error("double superscript: write x^{y^{z}} or (x^{y})^{z}", self.peek())
        return self.pow(base, exponent, tok)

    def transposed(self) -> bool:
        """Whether the exponent after '^' is a transpose: ``^T``, ``^{T}``, ``^\\top``,
        ``^\\intercal``, ``^{\\mathsf{T}}``."""
        k = self.i
        braced = self.is_op(self.tokens[k], "{")
        k += braced
        tok = self.tokens[k]
        if self.is_cmd(tok, "top", "intercal", "mathsf", "mathrm", "text", "textsf"):
            if tok.text[1:] in ("top", "intercal"):
                end = k + 1
            elif self.is_op(self.tokens[k + 1], "{") and self.tokens[k + 2].text == "T":
                end = k + 3 + self.is_op(self.tokens[k + 3], "}")
            else:
                return False
        elif tok.kind == "letter" and tok.text == "T":
            end = k + 1
        else:
            return False
        return not braced or self.is_op(self.tokens[end], "}")

    def exponent(self, caret: Token):
        """``^{...}``, or one token: ``w^2x`` is w^{2} x, ``e^-x`` is e^{-x}."""
        if self.is_op(self.peek(), "{"):
            return self.group()
        sign = self.signs()
        tok = self.peek()
        if tok.kind == "num":
            if len(tok.text) > 1:
                raise self.error(
                    f"LaTeX reads ^{tok.text} as ^{tok.text[0]} followed by {tok.text[1:]}: "
                    f"write ^{{{tok.text}}}",
                    tok,
                )
            self.advance()
            value = self.number(tok)
        elif tok.kind == "letter":
            self.advance()
            value = self.letter(tok, subscripts=False)
        elif tok.kind == "cmd" and self.symbol_command(tok) is not None:
            self.advance()
            value = self.remembered(self.symbol_command(tok))
        elif tok.kind == "cmd" and tok.text[1:] in ("frac", "dfrac", "tfrac", "sqrt"):
            value = self.primary()
        else:
            raise self.error("an exponent is one token or a group: write ^{...}", tok)
        return -value if sign < 0 else value

    def group(self):
        """``{ sum }``, a TeX group."""
        opening = self.advance()
        self.enter(opening)
        if self.is_op(self.peek(), "}"):
            raise self.error("empty group {}: put an expression inside", self.peek())
        expr = self.sum()
        self.expect("}", opening)
        self.depth -= 1
        return expr

    def argument(self):
        """The argument of \\frac or \\sqrt: a group, or a single token (\\frac12)."""
        tok = self.peek()
        if self.is_op(tok, "{"):
            return self.group()
        if tok.kind == "num":
            if len(tok.text) > 1 and tok.text.isdigit():
                # TeX takes one digit: \frac12 is 1/2; the other digits stay for what follows
                self.tokens[self.i] = Token("num", tok.text[1:], tok.column + 1)
                return self.number(Token("num", tok.text[0], tok.column))
            self.advance()
            return self.number(tok)
        if tok.kind == "letter":
            self.advance()
            return self.letter(tok, subscripts=False)
        if tok.kind == "cmd" and self.symbol_command(tok) is not None:
            self.advance()
            return self.remembered(self.symbol_command(tok))
        raise self.error("expected an argument in braces, as in \\frac{a}{b}", tok)

    def delimited(self, opening: Token, *, allow_commas: bool = False):
        """``( sum )``, ``[ sum ]``, ``\\left( sum \\right)``, ``| sum |``: args when allowed."""
        self.enter(opening)
        left = opening.text
        if self.is_cmd(opening, "left"):
            delim = self.advance()
            left = delim.text
            if left not in ("(", "[", "\\{", "|", "\\lvert", "\\vert", "."):
                raise self.error(f"unexpected \\left{left}", delim)
        if self.is_cmd(opening, "lvert"):
            left = "|"
        closing = {"(": ")", "[": "]", "\\{": "\\}", "|": "|", ".": "."}.get(left, "|")
        if left == "|":
            self.abs_depth += 1
        args = [self.sum()]
        while allow_commas and self.is_op(self.peek(), ","):
            self.advance()
            args.append(self.sum())
        tok = self.peek()
        if self.is_cmd(opening, "left"):
            self.expect("\\right", opening)
            delim = self.advance()
            if delim.text not in (closing, "\\rvert", "\\vert", "."):
                raise self.error(f"\\left{left} is closed by \\right{delim.text}", delim)
        elif self.is_cmd(opening, "lvert"):
            self.expect("\\rvert", opening)
        elif tok.kind == "end":
            raise self.error(
                f"unbalanced {left!r}: the one at column {opening.column} is never closed", opening
            )
        elif self.is_op(tok, ","):
            raise self.error("',' only separates the arguments of a function", tok)
        else:
            self.expect(closing, opening)
        if left == "|":
            self.abs_depth -= 1
        self.depth -= 1
        if left == "|":
            return [Abs(a) for a in args]
        return args

    def primary(self):
        tok = self.peek()
        if tok.kind == "num":
            self.advance()
            return self.number(tok)
        if tok.kind == "letter":
            name = self.bare_function()
            if name is not None:
                return self.apply(name, tok)
            if tok.text in _FUNCTION_LETTERS and self.applied(self.i + 1, power=False):
                raise self.error(
                    f"{tok.text}(...) applies a function symgrad does not know: write its "
                    f"formula instead, or {tok.text} \\cdot (...) for a product",
                    tok,
                )
            self.advance()
            return self.letter(tok)
        if tok.kind == "op":
            if tok.text in "([|":
                self.advance()
                return self.single(self.delimited(tok), tok)
            if tok.text == "{":
                return self.group()
            raise self.error(f"unexpected {tok.text!r}: expected a number, a letter or '('", tok)
        if tok.kind == "cmd":
            return self.command(tok)
        raise self.error("the formula ends too early: expected a number, a letter or '('", tok)

    def single(self, args: list, tok: Token):
        if len(args) != 1:
            raise self.error("',' only separates the arguments of a function", tok)
        return args[0]

    def command(self, tok: Token):
        name = tok.text[1:]
        if name in ("left", "lvert"):
            self.advance()
            return self.single(self.delimited(tok), tok)
        if name in ("frac", "dfrac", "tfrac"):
            self.advance()
            self.enter(tok)
            numerator = self.argument()
            start = self.peek()
            denominator = self.argument()
            self.depth -= 1
            if denominator.is_zero:
                raise self.error("division by zero", start)
            return sp.Mul(numerator, sp.Pow(denominator, -1))
        if name == "sqrt":
            self.advance()
            self.enter(tok)
            root = None
            if self.is_op(self.peek(), "["):
                opening = self.advance()
                root = self.sum()
                self.expect("]", opening)
            radicand = self.argument()
            self.depth -= 1
            if root is None:
                return sp.sqrt(radicand)
            if root.is_zero:
                raise self.error("a 0th root is not defined", tok)
            if root.is_Integer:  # \sqrt[3]{-8} is -2: the real root
                return self.functions["root"].build(radicand, root)
            return self.pow(radicand, 1 / root, tok)
        commands = _commands()
        if name in commands and (name != "sigma" or self.applied(self.i + 1)):
            self.advance()
            return self.function(commands[name], tok)
        if name in _NAME_STYLES:
            self.advance()
            word = normalize_name(self.braced_word(tok))
            if self.applied(self.i):
                entry = lookup(word, loose=True)  # \operatorname{ReLU}, \mathrm{Softplus}
                if entry is not None:
                    return self.function(entry.name, tok)
                if name in _FUNCTION_STYLES and len(word) > 1:
                    raise self.error(
                        f"unknown function {word}: symgrad does not know it; write its formula "
                        "(symgrad functions lists the ones it knows)",
                        tok,
                    )
            if word in _UPRIGHT_CONSTANTS and not self.is_op(self.peek(), "_"):
                return _UPRIGHT_CONSTANTS[word]  # \mathrm{e}: how Euler's number is typeset
            return self.subscripted(word)
        value = self.symbol_command(tok)
        if value is not None:
            self.advance()
            if value.is_Symbol:
                return self.subscripted(value.name)
            return value
        if name in ("right", "end"):
            raise self.error(f"unbalanced {tok.text}: nothing opened it", tok)
        if name in _BINARY:
            raise self.error(f"{tok.text} needs something on its left", tok)
        raise self.error(f"unknown LaTeX command {tok.text}", tok)

    def symbol_command(self, tok: Token):
        """A Greek letter or \\pi as a value (no subscript), else None."""
        name = tok.text[1:]
        name = _GREEK_VARIANTS.get(name, name)
        if name == "pi":
            return sp.pi
        if name in _GREEK:
            return symbol(name)  # remembered as typed by its caller, with its subscript
        return None

    def remembered(self, value: sp.Expr) -> sp.Expr:
        """A Greek letter read without a subscript is a variable as typed; pi is not."""
        return self.var(value.name) if value.is_Symbol else value

    def letter(self, tok: Token, *, subscripts: bool = True):
        name = normalize_name(tok.text)
        if subscripts and self.is_op(self.peek(), "_"):
            return self.subscripted(name)
        if name == "e":
            return sp.E
        return self.var(name)

    def subscripted(self, name: str):
        """``x_1``, ``x_{10}``, ``\\theta_t``: the subscript is part of the name."""
        if not self.is_op(self.peek(), "_"):
            return self.var(name)
        under = self.advance()
        tok = self.peek()
        if self.is_op(tok, "{"):
            word = self.braced_word(under)
        elif tok.kind == "num":
            if len(tok.text) > 1:
                raise self.error(
                    f"LaTeX reads _{tok.text} as _{tok.text[0]} followed by {tok.text[1:]}: "
                    f"write _{{{tok.text}}}",
                    tok,
                )
            word = self.advance().text
        elif tok.kind == "letter":
            word = self.advance().text
        elif tok.kind == "cmd" and tok.text[1:] in _GREEK:
            word = self.advance().text[1:]
        else:
            raise self.error("a subscript is a letter, a digit or a group: write x_{...}", tok)
        if self.is_op(self.peek(), "_"):
            raise self.error("double subscript: write x_{ij}", self.peek())
        return self.var(f"{name}_{normalize_name(word)}")

    # ------------------------------------------------------------ functions

    def applied(self, k: int, power: bool = True) -> bool:
        """True when the token at ``k`` opens an argument list ('(', '[', '{', \\left),
        maybe after a power: \\sigma(z) and \\sigma^2(z) are sigmoids, \\sigma^2 a variance."""
        if power and self.is_op(self.tokens[k], "^"):
            k = self.matching(k + 1) + 1 if self.is_op(self.tokens[k + 1], "{") else k + 2
            if not 0 < k < len(self.tokens):
                return False
        tok = self.tokens[k]
        if not power:  # a letter: f(x) and f\left(x\right) only; f[y - x] stays a product
            return self.is_op(tok, "(") or self.is_cmd(tok, "left")
        return self.is_op(tok, "(", "[", "{") or self.is_cmd(tok, "left")

    def bare_function(self) -> str | None:
        """``log(...)`` typed without a backslash (``ylog(wx+b)``): the function's name."""
        i, tokens = self.i, self.tokens
        for name in _bare_functions():
            end = i + len(name)
            if end >= len(tokens):
                continue
            run = tokens[i:end]
            if (
                all(t.kind == "letter" for t in run)
                and "".join(t.text for t in run) == name
                and all(run[k + 1].column == run[k].column + 1 for k in range(len(run) - 1))
                and (self.is_op(tokens[end], "(") or self.is_cmd(tokens[end], "left"))
            ):
                return name
        return None

    def apply(self, name: str, tok: Token):
        self.i += len(name)
        return self.function(name, tok)

    def function(self, name: str, tok: Token):
        """A function applied: ``\\log(x)``, ``\\sin^2 x``, ``\\log_2 x``, ``\\sigma(z)``."""
        name = {"ln": "log", "arcsin": "asin", "arccos": "acos", "arctan": "atan"}.get(name, name)
        self.enter(tok)
        power = None
        if self.is_op(self.peek(), "^"):
            caret = self.advance()
            power = (self.exponent(caret), caret)
        base = None
        if self.is_op(self.peek(), "_") and name == "log":
            self.advance()
            base = self.argument()
        nxt = self.peek()
        if self.is_op(nxt, "(", "[") or self.is_cmd(nxt, "left"):
            self.advance()
            args = self.delimited(nxt, allow_commas=True)
        elif self.is_op(nxt, "{"):
            args = [self.group()]
        else:
            args = [self.bare_argument(tok)]
        if base is not None:
            args.append(base)
        self.depth -= 1
        spec = self.functions.get(name)
        if spec is None:
            raise self.error(f"unknown function {name}", tok)
        if power is not None and power[0] == -1 and name in _INVERSES:
            name, power = _INVERSES[name], None
            spec = self.functions[name]
        if not spec.accepts(len(args)):
            wanted = " or ".join(str(n) for n in spec.arity)
            raise self.error(f"{name} takes {wanted} argument(s), got {len(args)}", tok)
        value = spec.build(*args)
        if isinstance(value, sp.MatrixBase):
            value = self.softmax_output(value, name, tok)
        if power is not None:
            value = self.pow(value, power[0], power[1])
        return value

    def bare_argument(self, tok: Token):
        """``\\sin 2x`` is sin(2x): the factors up to the next operator or function."""
        if self.peek().kind == "end":
            raise self.error(f"{tok.text} needs an argument", tok)
        sign = self.signs()
        factors = [self.power()]
        while self.starts_factor(self.peek()) and not self.starts_function(self.peek()):
            if self.peek().kind == "num":
                break
            factors.append(self.power())
        value = sp.Mul(*factors)
        return -value if sign < 0 else value

    def starts_function(self, tok: Token) -> bool:
        if tok.kind == "cmd":
            return tok.text[1:] in _commands() or tok.text[1:] in ("frac", "sqrt", "operatorname")
        return tok.kind == "letter" and self.bare_function() is not None

    def softmax_output(self, value, name: str, tok: Token):
        """``\\operatorname{softmax}(a, b)_{k}`` is output k; the whole formula is the vector."""
        if self.is_op(self.peek(), "_"):
            under = self.advance()
            nxt = self.peek()
            if self.is_op(nxt, "{"):
                word = self.braced_word(under)
            else:
                word = self.advance().text
            if not word.isdigit():
                raise self.error(f"an output of {name} is a whole number, as in _{{0}}", nxt)
            k = int(word)
            if k >= len(value):
                raise self.error(
                    f"{name} has {len(value)} outputs, _{{0}} to _{{{len(value) - 1}}}", under
                )
            return value[k]
        if self.peek().kind == "end" and self.tokens[self.start] is tok:
            return value
        raise self.error(
            f"{name}(...) is a vector: take one output as {name}(...)_{{0}}, or give the whole "
            "vector as the formula",
            tok,
        )
