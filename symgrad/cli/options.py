"""The one options mechanism: what every expression command shares, defined once.

A command declares only its own options (typer parameters: ``--wrt``, ``--at``, ...) and
returns a function from the text of one expression to a result. ``ExpressionCommand`` gives it
EXPR and the shared options of ``SHARED`` (``--format``, ``--latex``, ``--file``, ``--jobs``
and the limits, grouped under their own heading in ``--help``), turns their values into the
``Settings`` of the run loop, and runs the loop.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from dataclasses import dataclass
from enum import Enum
from typing import Any

import click
from click.core import ParameterSource
from typer.core import TyperArgument, TyperCommand, TyperOption

from symgrad.limits import DEFAULT_LIMITS, LIMIT_FIELDS, MAX_LITERAL_BITS, Limits

LIMITS_HEADING = "Limits"
MIN_WIDTH = 40
MAX_TIMEOUT = 1e6
"""Seconds (11 days): more is no limit at all, which is 0; a wait past about 300 years is an
OverflowError in Python's threads."""


class Format(str, Enum):
    auto = "auto"
    pretty = "pretty"
    text = "text"
    json = "json"
    latex = "latex"
    dot = "dot"


def _finite(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter("give a number of seconds, 0 for no limit", ctx, param)
    return value


@dataclass(frozen=True)
class Shared:
    """One option every expression command has."""

    decls: tuple[str, ...]
    name: str
    help: str
    type: Any = None
    default: Any = None
    metavar: str | None = None
    is_flag: bool = False
    heading: str | None = None  # None: with the command's own options
    callback: Any = None

    def option(self) -> click.Option:
        return TyperOption(
            param_decls=[*self.decls, self.name],
            type=self.type,
            default=self.default,
            metavar=self.metavar,
            is_flag=self.is_flag or None,
            help=self.help,
            show_default=self.default not in (None, False) and not self.is_flag,
            rich_help_panel=self.heading,
            callback=self.callback,
        )


FORMAT = Shared(
    ("--format", "-f"),
    "fmt",
    "Output: pretty on a terminal and text in a pipe (auto), json (JSON Lines), latex, dot "
    "(explain --at's graph).",
    type=click.Choice([f.value for f in Format], case_sensitive=False),
    default="auto",
)

# fmt: off
SHARED: tuple[Shared, ...] = (
    FORMAT,
    Shared(("--latex",), "latex", "Read EXPR as LaTeX (detected anyway from '\\' or '$').",
           is_flag=True, default=False),
    Shared(("--file",), "file", "Read one expression from a file (newlines are spaces; '-' is "
           "all of stdin).", metavar="PATH"),
    Shared(("--jobs", "-j"), "jobs", "With EXPR '-': answer the lines in N processes, output "
           "in input order (0: one per CPU; at most 4 per CPU).", type=click.IntRange(min=0),
           default=1, metavar="N"),
    # the limits (docs/limits.md): one option per field of Limits
    Shared(("--timeout",), "timeout", "Time for one expression, output included; 0 for none.",
           type=click.FloatRange(min=0, max=MAX_TIMEOUT), default=DEFAULT_LIMITS.timeout,
           metavar="SECONDS", heading=LIMITS_HEADING, callback=_finite),
    Shared(("--max-memory",), "max_memory_mb", "Memory (address space) of the symgrad "
           "process; 0 for none.", type=click.IntRange(min=0),
           default=DEFAULT_LIMITS.max_memory_mb, metavar="MIB", heading=LIMITS_HEADING),
    Shared(("--max-chars",), "max_chars", "Length of one expression.",
           type=click.IntRange(min=1), default=DEFAULT_LIMITS.max_chars, metavar="N",
           heading=LIMITS_HEADING),
    Shared(("--max-file-chars",), "max_file_chars", "Length of an expression read from a file.",
           type=click.IntRange(min=1), default=DEFAULT_LIMITS.max_file_chars, metavar="N",
           heading=LIMITS_HEADING),
    Shared(("--max-tokens",), "max_tokens", "Numbers, names and operators in one expression.",
           type=click.IntRange(min=1), default=DEFAULT_LIMITS.max_tokens, metavar="N",
           heading=LIMITS_HEADING),
    Shared(("--max-depth",), "max_depth", "Nesting of parentheses, calls and powers.",
           type=click.IntRange(min=1, max=100_000), default=DEFAULT_LIMITS.max_depth,
           metavar="N", heading=LIMITS_HEADING),
    Shared(("--max-literal-bits",), "max_literal_bits", "Bits of an exact number, typed or "
           "computed.", type=click.IntRange(min=64, max=MAX_LITERAL_BITS),
           default=DEFAULT_LIMITS.max_literal_bits, metavar="N", heading=LIMITS_HEADING),
    Shared(("--max-order",), "max_order", "Order of a derivative.",
           type=click.IntRange(min=1), default=DEFAULT_LIMITS.max_order, metavar="N",
           heading=LIMITS_HEADING),
)
# fmt: on
SHARED_NAMES = frozenset(s.name for s in SHARED) | {"expr"}
assert {s.name for s in SHARED} >= set(LIMIT_FIELDS), "every limit has its option"

EXPR_HELP = (
    'The expression, e.g. "y*log(w*x+b)"; - for one per line of stdin. Syntax: '
    "symgrad functions, docs/syntax.md."
)


class HeadedCommand(TyperCommand):
    """A command whose ``--help`` lists its options, then each heading's options under it."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        sections: dict[str, list] = {"Arguments": [], "Options": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            heading = getattr(param, "rich_help_panel", None)
            if param.param_type_name == "argument":
                heading = "Arguments"
            sections.setdefault(heading or "Options", []).append(record)
        for heading, records in sections.items():
            if records:
                with formatter.section(heading):
                    formatter.write_dl(records)


class ExpressionCommand(HeadedCommand):
    """A command that answers expressions: EXPR and ``SHARED`` added, the run loop run.

    Its function takes its own options and returns a function from the text of one
    expression to a result; this class runs that function over the input.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        expr = TyperArgument(
            param_decls=["expr"],
            required=False,
            metavar="EXPR",
            help=EXPR_HELP,
            show_default=False,
        )
        help_option = [p for p in self.params if p.name == "help"]
        own = [p for p in self.params if p.name != "help"]
        self.params = [expr, *own, *(s.option() for s in SHARED), *help_option]

    def invoke(self, ctx: click.Context) -> int:
        from symgrad.cli.loop import run

        shared = {name: ctx.params.pop(name) for name in list(ctx.params) if name in SHARED_NAMES}
        settings = settings_from(shared, ctx)
        expr = _expression(shared.get("expr"), settings.file, ctx)
        compute = super().invoke(ctx)
        return run(expr, compute, settings)


def _expression(expr: str | None, file: str | None, ctx: click.Context) -> str | None:
    from symgrad.cli.app import unshield

    if expr is not None and file is not None:
        raise click.UsageError("give either EXPR or --file, not both", ctx)
    if expr is None and file is None:
        raise click.UsageError(
            "Missing argument 'EXPR': give an expression, '-' for one per line of stdin, or "
            "--file PATH",
            ctx,
        )
    return None if expr is None else unshield(expr)


def resolve_format(fmt: str) -> str:
    """``auto`` is pretty on a terminal and text in a pipe."""
    if fmt == "auto":
        return "pretty" if _isatty(sys.stdout) else "text"
    return fmt


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False


def terminal_width() -> int:
    """Columns of the terminal (``COLUMNS`` when set), at least ``MIN_WIDTH``."""
    return max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)


def settings_from(shared: dict[str, Any], ctx: click.Context):
    """The run loop's Settings from the values of the shared options."""
    from symgrad.cli.app import state
    from symgrad.cli.loop import Settings, file_limits, workers

    fmt = resolve_format(shared.get("fmt", "auto").lower())
    limits = Limits(**{f: shared[f] for f in LIMIT_FIELDS if f in shared})
    file = shared.get("file")
    if file is not None:
        timeout_given = ctx.get_parameter_source("timeout") is not ParameterSource.DEFAULT
        limits = file_limits(limits, timeout_given)
    return Settings(
        fmt=fmt,
        latex=bool(shared.get("latex")),
        file=file,
        jobs=workers(shared.get("jobs", 1)),
        limits=limits,
        width=terminal_width(),
        color=fmt == "pretty" and _isatty(sys.stdout) and not os.environ.get("NO_COLOR"),
        debug=state.debug,
        owns_process=state.owns_process,
    )
