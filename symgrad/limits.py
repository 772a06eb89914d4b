"""Resource bounds: the limits of one expression, and the static ones checked before sympy
evaluates anything.

sympy evaluates number literals eagerly (``10^10^10`` would try to build a 10-billion-digit
integer), so the parser asks the static bounds before it builds a node. What no static bound
can foresee (``simplify`` on a long trigonometric sum, the derivative of a deep tower) runs
within the time budget of ``symgrad.budget``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

from symgrad.errors import LimitError


@dataclass(frozen=True)
class Limits:
    """Resource bounds for one expression. Every field can be raised by a CLI option."""

    max_chars: int = 100_000
    """Length of one expression typed or piped (``--max-chars``)."""
    max_file_chars: int = 50_000_000
    """Length of one expression read with ``--file`` (``--max-file-chars``)."""
    max_tokens: int = 2_000_000
    """Numbers, names and operators in one expression (``--max-tokens``)."""
    max_depth: int = 100
    """Nesting of parentheses, function calls and power towers (``--max-depth``)."""
    max_literal_bits: int = 12_000
    """Size of any exact number, typed or computed from constants, about 3,600 digits
    (``--max-literal-bits``)."""
    max_order: int = 100
    """Order of a derivative (``--max-order``)."""
    timeout: float = 3.0
    """Seconds of work on one expression, output included; 0 for none (``--timeout``)."""
    max_memory_mb: int = 1024
    """Address space of the symgrad process in MiB, set by the CLI only; 0 for none
    (``--max-memory``)."""

    def option(self, field: str) -> str:
        """The CLI option that raises ``field``: ``max_depth`` -> ``--max-depth``."""
        return OPTIONS.get(field, "--" + field.replace("_", "-"))


DEFAULT_LIMITS = Limits()

# Python multiplies big integers in one uninterruptible call and prints them in quadratic
# time (a million bits: 7 s), so no option raises max_literal_bits past this.
MAX_LITERAL_BITS = 100_000

# field -> CLI option, where the option is not simply the field's name with dashes
OPTIONS = {"max_memory_mb": "--max-memory", "timeout": "--timeout"}

LIMIT_FIELDS = tuple(f.name for f in fields(Limits))

_current: contextvars.ContextVar[Limits] = contextvars.ContextVar(
    "symgrad_limits", default=DEFAULT_LIMITS
)


def current_limits() -> Limits:
    """The limits in force: ``DEFAULT_LIMITS`` unless inside ``applied(...)``."""
    return _current.get()


@contextmanager
def applied(limits: Limits) -> Iterator[Limits]:
    """Make ``limits`` the ones ``parse`` and ``bounded`` use when given none.

    >>> with applied(Limits(max_depth=5)):
    ...     current_limits().max_depth
    5
    """
    token = _current.set(limits)
    try:
        yield limits
    finally:
        _current.reset(token)


def check_order(order: int, limits: Limits | None = None) -> int:
    """``order`` if it is a derivative order within the limits; LimitError if it is too high."""
    limits = limits or current_limits()
    if order > limits.max_order:
        raise LimitError(
            f"derivative order {order:,} is over the limit of {limits.max_order:,} "
            "(raise it with --max-order)"
        )
    return order


FILE_TIMEOUT = 120.0
"""Seconds for an expression read with ``--file`` when no ``--timeout`` is given: a file is big
work asked for on purpose (the 1,088-parameter loss of bench/ takes a few seconds)."""

FROM_FILE: contextvars.ContextVar[bool] = contextvars.ContextVar("symgrad_from_file", default=False)
"""True while the CLI answers an expression read with ``--file``: its length bound is then
``max_file_chars`` instead of ``max_chars``."""
