"""Static bounds checked before sympy evaluates anything.

sympy evaluates number literals eagerly (``10^10^10`` would try to build a 10-billion-digit
integer), so the parser asks these bounds before it builds a node.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource bounds for one expression. Every field can be raised by a CLI option."""

    max_chars: int = 100_000
    """Length of one expression typed or piped (``--max-chars``)."""
    max_file_chars: int = 50_000_000
    """Length of one expression read with ``--file``."""
    max_tokens: int = 2_000_000
    """Numbers, names and operators in one expression."""
    max_depth: int = 100
    """Nesting of parentheses, function calls and power towers (``--max-depth``)."""
    max_literal_bits: int = 12_000
    """Size of any exact number, typed or computed from constants (about 3,600 digits)."""


DEFAULT_LIMITS = Limits()

FROM_FILE: ContextVar[bool] = ContextVar("symgrad_from_file", default=False)
"""True while the CLI answers an expression read with ``--file``: its length bound is then
``max_file_chars`` instead of ``max_chars``."""
