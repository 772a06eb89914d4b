"""The command line: options -> one library call -> render -> stdout; messages -> stderr.

Nothing heavy is imported at module level: ``symgrad --help`` must not load sympy, numpy or
rich. Every error goes through ``SymgradGroup.main``: one line on stderr and an exit code.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Optional

import typer
from click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from symgrad import __version__
from symgrad.errors import LimitError, SymgradError

EXIT_INTERNAL = 70

# sympy's cache holds 1,000 results by default, too few for a stream: with 20,000 a
# 2,000-line stream runs about 15% faster (bench/throughput.py). Read when sympy is imported.
os.environ.setdefault("SYMPY_CACHE_SIZE", "20000")
_debug = False


class Format(str, Enum):
    auto = "auto"
    pretty = "pretty"
    text = "text"
    json = "json"
    latex = "latex"


class SymgradGroup(TyperGroup):
    """Runs a command and turns every failure into one stderr line and an exit code.

    Every command with an EXPR argument also gets ``--file`` and ``--jobs`` (symgrad.stream).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from symgrad.stream import add_stream_options

        for command in self.commands.values():
            add_stream_options(command)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        code = run_guarded(
            lambda: super(SymgradGroup, self).main(
                args=args,
                prog_name=prog_name or "symgrad",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
        )
        if standalone_mode:
            sys.exit(code)
        return code


def run_guarded(call) -> int:
    """Call ``call`` and map what it raises to an exit code, reporting it on stderr."""
    try:
        rv = call()
        return rv if isinstance(rv, int) else 0
    except SymgradError as err:
        report(err)
        return err.exit_code
    except NoArgsIsHelpError as err:
        typer.echo(err.ctx.get_help() if err.ctx else str(err))
        return 0
    except ClickException as err:
        command = f" {err.ctx.info_name}" if getattr(err, "ctx", None) and err.ctx.parent else ""
        message = err.format_message().replace("\n", " ")
        typer.echo(f"symgrad: usage error: {message} (see 'symgrad{command} --help')", err=True)
        return 2
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("symgrad: interrupted", err=True)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except RecursionError:
        err = LimitError("expression too deeply nested for this operation; split it up")
        report(err)
        return err.exit_code
    except MemoryError:
        typer.echo("symgrad: limit error: out of memory; the expression is too large", err=True)
        return 3
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        if _debug or os.environ.get("SYMGRAD_DEBUG"):
            raise
        typer.echo(
            f"symgrad: internal error ({type(exc).__name__}: {exc}); please report it "
            "with the input, or rerun with --debug for the traceback",
            err=True,
        )
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    # stdout's reader went away (| head -1): point stdout at devnull so that the
    # interpreter's final flush does not print a BrokenPipeError
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def report(err: SymgradError) -> None:
    """One line on stderr; on a terminal, the input with a caret under the column."""
    from symgrad.render import error_caret, error_line

    typer.echo(error_line(err), err=True)
    if sys.stderr.isatty():
        caret = error_caret(err)
        if caret:
            typer.echo(caret, err=True)


def resolve_format(fmt: Format) -> str:
    if fmt is Format.auto:
        return "pretty" if sys.stdout.isatty() else "text"
    return fmt.value


def emit(result: Any, fmt: Format, source: str | None = None) -> None:
    """Render ``result`` in ``fmt`` and write it to stdout."""
    from symgrad.render import render

    kind = resolve_format(fmt)
    if kind == "pretty":
        _print_pretty(result)
        return
    out = render(result, kind, source)
    if kind == "json":
        from symgrad.stream import json_line

        _write(json_line(out))
    else:
        _write("\n".join(out))


def _print_pretty(result: Any, console: Any = None) -> None:
    from rich.console import Console
    from rich.text import Text

    from symgrad.render import render

    console = console or Console(highlight=False, soft_wrap=True)
    styles = {"header": "dim", "partial": "", "result": "bold", "note": "dim italic"}
    for role, block in render(result, "pretty", width=max(console.width, 40)):
        console.print(Text(block, style=styles.get(role, "")))
        console.print()


# ---------------------------------------------------------------- the app


app = typer.Typer(
    cls=SymgradGroup,
    name="symgrad",
    help=(
        "Symbolic derivatives for people who work with gradients: partial derivatives, "
        "gradients and checks of hand-derived results."
    ),
    epilog="Run 'symgrad COMMAND --help' for the options and examples of a command.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"symgrad {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
) -> None:
    global _debug
    _debug = debug


ExprArg = Annotated[
    str,
    typer.Argument(
        metavar="EXPR",
        help='The expression, e.g. "y*log(w*x+b)". Syntax: symgrad functions, docs/syntax.md.',
        show_default=False,
    ),
]
WrtOpt = Annotated[
    Optional[str],
    typer.Option(
        "--wrt",
        "-w",
        metavar="VARS",
        help="Variables to differentiate by, comma-separated [default: all, x2 before x10].",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        "-f",
        help="Output: pretty on a terminal and text in a pipe (auto), json (JSON Lines), latex.",
        case_sensitive=False,
    ),
]


# ---------------------------------------------------------------- running a command


def run(expr: str, compute: Callable[[str], Any], fmt: Format) -> int:
    """Answer EXPR (each line of stdin when EXPR is '-', or --file) with ``compute``; print it.

    ``compute`` takes the text of one expression and returns a result object; a result may
    carry an ``exit_code`` (a check that found a mismatch). Returns the command's exit code:
    for a stream, 1 when any line failed or gave a non-zero code, else 0.
    """
    from symgrad import stream

    options = stream.current_options()
    if expr == "-" and options.file is None:
        debug = _debug or bool(os.environ.get("SYMGRAD_DEBUG"))
        return stream.answer_stream(compute, resolve_format(fmt), options.jobs, debug=debug)
    result = compute(expr)  # with --file, expr is the file's text
    try:
        emit(result, fmt, expr)
    except BrokenPipeError:  # click would make this exit 1
        _silence_stdout()
    return getattr(result, "exit_code", 0)


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- commands


@app.command()
def grad(expr: ExprArg, wrt: WrtOpt = None, fmt: FormatOpt = Format.auto) -> None:
    """Every partial derivative of EXPR and its gradient vector.

    \b
    Examples:
      symgrad grad "y*log(w*x+b)" --wrt w,b
      symgrad grad "sigmoid(w*x + b)" --format json
      symgrad grad "(y - (x*w + b))^2" -w w,b --format latex
      printf 'x^2\\nsin(x)*y\\n' | symgrad grad - --format json
    """
    from symgrad.differentiate import gradient
    from symgrad.parser import parse

    raise typer.Exit(run(expr, lambda text: gradient(parse(text), wrt), fmt))


@app.command()
def functions(fmt: FormatOpt = Format.auto) -> None:
    """List the functions EXPR may call, with their arity and meaning.

    \b
    Example:
      symgrad functions --format json
    """
    from symgrad.functions import FUNCTIONS

    kind = resolve_format(fmt)
    for spec in FUNCTIONS:
        arity = "/".join(str(n) for n in spec.arity)
        if kind == "json":
            record = {
                "name": spec.name,
                "arity": list(spec.arity),
                "aliases": list(spec.aliases),
                "summary": spec.summary,
            }
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            aliases = f" (also {', '.join(spec.aliases)})" if spec.aliases else ""
            sys.stdout.write(f"{spec.name:<11} {arity:<4} {spec.summary}{aliases}\n")


def main() -> None:
    """Console-script entry point.

    Ends with ``os._exit``: tearing down an interpreter that has loaded sympy takes longer
    than most symgrad commands (about 40 ms), and a pipeline pays it once per call.
    """
    code = app(standalone_mode=False)
    code = code if isinstance(code, int) else 0
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except (OSError, ValueError):
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
