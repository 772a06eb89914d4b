"""The command line: options -> one library call -> render -> stdout; messages -> stderr.

Nothing heavy is imported at module level: ``symgrad --help`` must not load sympy, numpy or
rich. Every error goes through ``SymgradGroup.main``: one line on stderr and an exit code.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, Optional

import click
import typer
from click.core import ParameterSource
from click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from symgrad import __version__
from symgrad.errors import LimitError, SymgradError
from symgrad.limits import (
    DEFAULT_LIMITS,
    MAX_LITERAL_BITS,
    Limits,
    applied,
    set_memory_ceiling,
)

EXIT_INTERNAL = 70

# sympy's cache holds 1,000 results by default, too few for a stream: with 20,000 a
# 2,000-line stream runs about 15% faster (bench/throughput.py). Read when sympy is imported.
os.environ.setdefault("SYMPY_CACHE_SIZE", "20000")
_debug = False
_owns_process = False  # set by main(): only the symgrad program caps its own memory


class Format(str, Enum):
    auto = "auto"
    pretty = "pretty"
    text = "text"
    json = "json"
    latex = "latex"


class SymgradGroup(TyperGroup):
    """Runs a command and turns every failure into one stderr line and an exit code.

    Every command that reads an expression (it has an ``expr`` parameter) gets the shared
    limit options, defined once in ``LIMIT_OPTIONS``; ``run`` applies them.
    Every command with an EXPR argument also gets ``--file`` and ``--jobs`` (symgrad.stream).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from symgrad.stream import add_stream_options

        for command in self.commands.values():
            if any(param.name == "expr" for param in command.params):
                command.params.extend(_limit_params())
            add_stream_options(command)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = self.shield_expressions(sys.argv[1:] if args is None else list(args))
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

    def shield_expressions(self, args: list[str]) -> list[str]:
        """Hand an EXPR that starts with '-' (``-x^2``, ``-y*log(p)``) to the command as EXPR.

        click would read it as a cluster of short options. After the command name, an argument
        is set aside (and ``run`` unwraps it) when it starts with a single '-', is not the value
        of the option before it, and either is not option-shaped or names no option.
        """
        command = None
        takes_value: set[str] = set()
        known: set[str] = {"-h"}
        previous = ""
        out = []
        for arg in args:
            if command is None:
                if not arg.startswith("-") and arg in self.commands:
                    command = self.commands[arg]
                    for param in command.params:
                        if param.param_type_name == "option":
                            known.update(param.opts)
                            if not param.is_flag:
                                takes_value.update(param.opts)
            elif (
                arg.startswith("-")
                and not arg.startswith("--")
                and len(arg) > 1
                and previous not in takes_value
                and (arg[:2] not in known or not _OPTION_LIKE.match(arg))
            ):
                key = f"{_SHIELD}{len(_SHIELDED)}"
                _SHIELDED[key] = arg
                arg = key
            out.append(arg)
            previous = arg
        return out


_OPTION_LIKE = re.compile(r"-[A-Za-z][A-Za-z0-9-]*\Z")
_SHIELD = "\x00expr"
_SHIELDED: dict[str, str] = {}


def unshield(expr: str) -> str:
    """The text of an EXPR that ``SymgradGroup.shield_expressions`` set aside."""
    return _SHIELDED.get(expr, expr)


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
        typer.echo(
            "symgrad: limit error: out of memory; the expression is too large "
            "(raise the limit with --max-memory)",
            err=True,
        )
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


def rendered(result: Any, fmt: Format, source: str | None = None) -> Any:
    """What ``show`` prints for ``result``: the slow half of output (sympy's printers), which
    runs within the time budget of the expression."""
    from symgrad.render import render

    kind = resolve_format(fmt)
    if kind == "pretty":
        return render(result, "pretty", width=_console().width)
    out = render(result, kind, source)
    if kind == "json":
        from symgrad.stream import json_line

        return json_line(out)
    return "\n".join(out)


def show(fmt: Format, out: Any) -> None:
    """Write what ``rendered`` made to stdout."""
    if resolve_format(fmt) != "pretty":
        _write(out)
        return
    print_blocks(out)


def print_blocks(blocks: list[tuple[str, str]], console: Any = None) -> None:
    """The blocks of ``render(result, "pretty")``, each styled by its role."""
    from rich.text import Text

    console = console or _console()
    # NO_COLOR (no-color.org): rich drops colours but keeps dim/bold, so drop the styles too
    plain = bool(os.environ.get("NO_COLOR"))
    styles = {"header": "dim", "partial": "", "result": "bold", "note": "dim italic"}
    for role, block in blocks:
        console.print(Text(block, style="" if plain else styles.get(role, "")))
        console.print()


def _console():
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    console.width = max(console.width, 40)
    return console


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
AtOpt = Annotated[
    Optional[str],
    typer.Option(
        "--at",
        metavar="POINT",
        help="A value for every variable, e.g. w=1,x=2,y=-0.5 (values may be constants: pi/4).",
        show_default=False,
    ),
]


LatexOpt = Annotated[
    bool,
    typer.Option(
        "--latex",
        help="Read EXPR as LaTeX (detected anyway when it contains '\\' or '$').",
    ),
]


def _reader(latex: bool) -> Callable[[str], Any]:
    from symgrad.parser import parse_input

    return lambda text: parse_input(text, latex=latex)


# the limit options shared by every command that reads an expression (docs/limits.md):
# Limits field -> (option, metavar, type, help)
LIMIT_OPTIONS: dict[str, tuple[str, str, Any, str]] = {
    "timeout": (
        "--timeout",
        "SECONDS",
        click.FloatRange(min=0),
        "Time for one expression, output included; 0 for none.",
    ),
    "max_memory_mb": (
        "--max-memory",
        "MIB",
        click.IntRange(min=0),
        "Memory (address space) of the symgrad process; 0 for none.",
    ),
    "max_chars": ("--max-chars", "N", click.IntRange(min=1), "Length of one expression."),
    "max_file_chars": (
        "--max-file-chars",
        "N",
        click.IntRange(min=1),
        "Length of an expression read from a file.",
    ),
    "max_tokens": (
        "--max-tokens",
        "N",
        click.IntRange(min=1),
        "Numbers, names and operators in one expression.",
    ),
    "max_depth": (
        "--max-depth",
        "N",
        click.IntRange(min=1, max=100_000),
        "Nesting of parentheses, calls and powers.",
    ),
    "max_literal_bits": (
        "--max-literal-bits",
        "N",
        click.IntRange(min=64, max=MAX_LITERAL_BITS),
        "Bits of an exact number, typed or computed.",
    ),
    "max_order": ("--max-order", "N", click.IntRange(min=1), "Order of a derivative."),
}
_LIMITS_KEY = "symgrad.limits"


def _limit_params() -> list[click.Option]:
    def store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        ctx.meta.setdefault(_LIMITS_KEY, {})[param.name] = value

    return [
        click.Option(
            [option, field],
            metavar=metavar,
            type=kind,
            default=getattr(DEFAULT_LIMITS, field),
            show_default=True,
            help=text,
            expose_value=False,
            callback=store,
        )
        for field, (option, metavar, kind, text) in LIMIT_OPTIONS.items()
    ]


def command_limits() -> Limits:
    """The limits the running command was given (the defaults outside a command).

    An expression read with ``--file`` is big work asked for on purpose: unless ``--timeout``
    was given, its time budget is ``FILE_TIMEOUT`` instead of the default for one line.
    """
    from symgrad.limits import FILE_TIMEOUT, FROM_FILE

    ctx = click.get_current_context(silent=True)
    given = dict(ctx.meta.get(_LIMITS_KEY, {})) if ctx else {}
    if FROM_FILE.get() and ctx.get_parameter_source("timeout") is ParameterSource.DEFAULT:
        given["timeout"] = FILE_TIMEOUT
    return Limits(**given)


# ---------------------------------------------------------------- running a command


def answer(compute: Callable[[str], Any], text: str, fmt: Format) -> tuple[Any, Any]:
    """``compute(text)`` and its rendering, within the time, stack and memory budget."""
    from symgrad.limits import bounded

    def work() -> tuple[Any, Any]:
        result = compute(text)
        return result, rendered(result, fmt, text)

    return bounded(work)


def run(expr: str, compute: Callable[[str], Any], fmt: Format) -> int:
    """Answer EXPR (each line of stdin when EXPR is '-', or --file) with ``compute``; print it.

    ``compute`` takes the text of one expression and returns a result object; a result may
    carry an ``exit_code`` (a check that found a mismatch). Returns the command's exit code:
    for a stream, 1 when any line failed or gave a non-zero code, else 0. Each expression runs
    within the command's limits (``answer``; ``stream.answer`` for a line of a stream).
    """
    from symgrad import stream

    expr = unshield(expr)
    limits = command_limits()
    if _owns_process:
        set_memory_ceiling(limits.max_memory_mb)
    with applied(limits):
        options = stream.current_options()
        if expr == "-" and options.file is None:
            debug = _debug or bool(os.environ.get("SYMGRAD_DEBUG"))
            return stream.answer_stream(compute, resolve_format(fmt), options.jobs, debug=debug)
        result, out = answer(compute, expr, fmt)  # with --file, expr is the file's text
        try:
            show(fmt, out)
        except BrokenPipeError:  # click would make this exit 1
            _silence_stdout()
        return getattr(result, "exit_code", 0)


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- commands


CseOpt = Annotated[
    bool,
    typer.Option(
        "--cse",
        help="Name shared subexpressions (t0, t1, ...) once and refer to them: the gradient "
        "of a big loss stays as small as the loss.",
    ),
]


@app.command()
def grad(
    expr: ExprArg,
    wrt: WrtOpt = None,
    at: AtOpt = None,
    fmt: FormatOpt = Format.auto,
    latex: LatexOpt = False,
    cse: CseOpt = False,
) -> None:
    """Every partial derivative of EXPR and its gradient vector.

    With --at, also the value and the gradient at that point (exit 4 where they are not
    real and finite: outside the domain, at a kink).

    \b
    Examples:
      symgrad grad "y*log(w*x+b)" --wrt w,b
      symgrad grad "sigmoid(w*x + b)" --format json
      symgrad grad "(y - (x*w + b))^2" -w w,b --format latex
      symgrad grad "y*log(w*x+b)" --at w=1,x=2,y=3,b=0.5
      symgrad grad '$\\frac{y}{wx+b}x$' --wrt w,b
      symgrad grad "tanh(w*x + b)^2" --cse
      printf 'x^2\\nsin(x)*y\\n' | symgrad grad - --format json
    """
    from symgrad.differentiate import gradient

    read = _reader(latex)
    if at is None:
        raise typer.Exit(run(expr, lambda text: gradient(read(text), wrt, cse=cse), fmt))
    if cse:
        from symgrad.errors import InputError

        raise InputError("give --at (numbers) or --cse (shared subexpressions), not both")
    from symgrad.numeric import gradient_at, parse_point

    point = parse_point(at)
    raise typer.Exit(run(expr, lambda text: gradient_at(gradient(read(text), wrt), point), fmt))


class Target(str, Enum):
    numpy = "numpy"
    python = "python"


@app.command("codegen")
def codegen_command(
    expr: ExprArg,
    wrt: WrtOpt = None,
    target: Annotated[
        Target,
        typer.Option(
            "--target",
            "-t",
            help="numpy: works elementwise on arrays; python: floats, standard library only.",
            case_sensitive=False,
        ),
    ] = Target.numpy,
    name: Annotated[
        str, typer.Option("--name", metavar="NAME", help="Name of the generated function.")
    ] = "f",
    fmt: FormatOpt = Format.auto,
) -> None:
    """Python code returning the value of EXPR and its gradient (one reverse sweep).

    The function takes every variable (x2 before x10) and returns (value, gradient), the
    gradient a tuple aligned with --wrt. Shared values and adjoints are computed once.

    \b
    Examples:
      symgrad codegen "y*log(w*x+b)" --wrt w,b > loss_grad.py
      symgrad codegen "sigmoid(w*x + b)" --target python --name sigmoid_grad
    """
    from symgrad.codegen import codegen

    read = _reader(False)  # LaTeX is still detected from '\\' or '$'
    raise typer.Exit(run(expr, lambda text: codegen(read(text), wrt, target.value, name), fmt))


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
        if kind == "json":
            record = {
                "name": spec.name,
                "arity": list(spec.arity),
                "variadic": spec.variadic,
                "aliases": list(spec.aliases),
                "summary": spec.summary,
            }
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            aliases = f" (also {', '.join(spec.aliases)})" if spec.aliases else ""
            sys.stdout.write(f"{spec.name:<11} {spec.arity_text:<10} {spec.summary}{aliases}\n")


@app.command()
def hessian(
    expr: ExprArg, wrt: WrtOpt = None, fmt: FormatOpt = Format.auto, latex: LatexOpt = False
) -> None:
    """The symmetric matrix of second partial derivatives of EXPR.

    \b
    Examples:
      symgrad hessian "x^2*y + sin(x*y)" --wrt x,y
      symgrad hessian "(y - (w*x + b))^2" -w w,b --format json
      symgrad hessian '$w^2x+b^2$' --format latex
    """
    from symgrad.differentiate import hessian as compute

    read = _reader(latex)
    raise typer.Exit(run(expr, lambda text: compute(read(text), wrt), fmt))


@app.command()
def jacobian(
    expr: ExprArg, wrt: WrtOpt = None, fmt: FormatOpt = Format.auto, latex: LatexOpt = False
) -> None:
    """The Jacobian of a vector EXPR: one row per output, one column per variable.

    A vector is [f1, f2, ...] or softmax(a, b, ...); softmax(a, b)[k] is output k (from 0).

    \b
    Examples:
      symgrad jacobian "softmax(a, b, c)" --wrt a,b,c --format json
      symgrad jacobian "[x*y, x + y, sin(x)]"
      symgrad jacobian "[r*cos(t), r*sin(t)]" --format latex
    """
    from symgrad.differentiate import jacobian as compute

    read = _reader(latex)
    raise typer.Exit(run(expr, lambda text: compute(read(text), wrt), fmt))


@app.command()
def diff(
    expr: ExprArg,
    wrt: Annotated[
        Optional[str],
        typer.Option(
            "--wrt",
            "-w",
            metavar="VARS",
            help="Variable(s) in order: x, or x,y for the mixed partial d2f/dxdy "
            "[default: the only variable].",
            show_default=False,
        ),
    ] = None,
    order: Annotated[
        int, typer.Option("--order", "-n", min=1, help="How many times to differentiate.")
    ] = 1,
    fmt: FormatOpt = Format.auto,
    latex: LatexOpt = False,
) -> None:
    """One higher or mixed partial derivative of EXPR.

    \b
    Examples:
      symgrad diff "sigmoid(x)" --wrt x --order 2
      symgrad diff "x^3*y^2" --wrt x,y --format json
      symgrad diff '$e^{-x^2}$' --order 3 --format latex
    """
    from symgrad.differentiate import derivative

    read = _reader(latex)
    raise typer.Exit(run(expr, lambda text: derivative(read(text), wrt, order), fmt))


@app.command()
def check(
    expr: ExprArg,
    wrt: WrtOpt = None,
    at: AtOpt = None,
    points: Annotated[
        Optional[int],
        typer.Option(
            "--points",
            "-n",
            metavar="N",
            help="Random points inside the domain to check at [default: 100].",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random points.")] = 0,
    claim: Annotated[
        Optional[list[str]],
        typer.Option(
            "--claim",
            "-c",
            metavar="D",
            help="A derivative worked out by hand; repeat it, one per --wrt variable, in order.",
            show_default=False,
        ),
    ] = None,
    rtol: Annotated[float, typer.Option("--rtol", help="Relative tolerance.")] = 1e-3,
    atol: Annotated[float, typer.Option("--atol", help="Absolute tolerance.")] = 1e-5,
    fmt: FormatOpt = Format.auto,
    latex: LatexOpt = False,
) -> None:
    """Check the gradient of EXPR against finite differences, and claimed derivatives.

    Exit 0 pass, 1 mismatch (a --claim is wrong), 4 unverifiable (a kink, outside the
    domain). A claim is compared with the symbolic derivative at random points inside the
    domain; a wrong one is shown with a counterexample and, where cheap, what differs.

    \b
    Examples:
      symgrad check "y*log(w*x+b)" --points 1000
      symgrad check "relu(x)" --at x=0
      symgrad check "(y - (x*w + b))^2" --wrt w,b --claim "2*(y-x*w-b)*x" --claim "2*(y-w*x-b)"
      symgrad check "sigmoid(x)" --claim "sigmoid(x)*(1 - sigmoid(x))" --format json
    """
    from symgrad.check import DEFAULT_POINTS, check_claim
    from symgrad.errors import InputError
    from symgrad.numeric import parse_point

    if at is not None and points is not None:
        raise InputError("give either --at (one point) or --points (random points), not both")
    point = parse_point(at) if at is not None else None
    claims = claim or []
    read = _reader(latex)

    def compute(text: str):
        return check_claim(
            read(text),
            claims,
            wrt,
            at=point,
            points=DEFAULT_POINTS if points is None else points,
            seed=seed,
            rtol=rtol,
            atol=atol,
        )

    raise typer.Exit(run(expr, compute, fmt))


def main() -> None:
    """Console-script entry point.

    Ends with ``os._exit``: tearing down an interpreter that has loaded sympy takes longer
    than most symgrad commands (about 40 ms), and a pipeline pays it once per call.
    """
    global _owns_process
    _owns_process = True
    # symgrad does no large linear algebra: one BLAS thread keeps numpy's address space
    # small under the memory ceiling (--max-memory)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
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
