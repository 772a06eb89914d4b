"""The commands: options -> one library call per expression; the run loop does the rest.

Each expression command declares only its own options and returns a function from the text of
one expression to a result (``symgrad.cli.options`` adds EXPR and the shared options and runs
the loop). Every failure goes through ``SymgradGroup.main``: one stderr line and an exit code.
Nothing heavy is imported at module level: ``symgrad --help`` must not load sympy, numpy or
rich.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Optional

import typer
from click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperGroup

from symgrad import __version__
from symgrad.cli.loop import Compute, as_error, read, silence_stdout
from symgrad.cli.options import FORMAT, ExpressionCommand, HeadedCommand, resolve_format
from symgrad.errors import InputError, OutputError, SymgradError

# sympy's cache holds 1,000 results by default, too few for a stream: with 20,000 a
# 2,000-line stream runs about 15% faster (bench/throughput.py). Read when sympy is imported.
os.environ.setdefault("SYMPY_CACHE_SIZE", "20000")


@dataclass
class State:
    debug: bool = False
    owns_process: bool = False  # set by main(): only the symgrad program caps its own memory


state = State()


class SymgradGroup(TyperGroup):
    """Runs a command and turns every failure into one stderr line and an exit code."""

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
        is set aside (and ``unshield`` restores it) when it starts with a single '-', is not the
        value of the option before it, and either is not option-shaped or names no option.
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
    except NoArgsIsHelpError as err:
        typer.echo(err.ctx.get_help() if err.ctx else str(err))
        return 0
    except ClickException as err:
        command = f" {err.ctx.info_name}" if getattr(err, "ctx", None) and err.ctx.parent else ""
        message = err.format_message().replace("\n", " ")
        _stderr(f"symgrad: usage error: {message} (see 'symgrad{command} --help')")
        return 2
    except (KeyboardInterrupt, typer.Abort):
        _stderr("symgrad: interrupted")
        return 130
    except BrokenPipeError:
        silence_stdout()
        return 0
    except BaseException as exc:  # noqa: BLE001 - the one place a command's failure is reported
        if isinstance(exc, SystemExit):
            raise
        error = as_error(exc, state.debug)
        report(error)
        return error.exit_code


def report(err: SymgradError) -> None:
    """One line on stderr; on a terminal, the input with a caret under the column."""
    from symgrad.printing.messages import error_caret, error_line

    _stderr(error_line(err))
    if sys.stderr is not None and sys.stderr.isatty():
        caret = error_caret(err)
        if caret:
            _stderr(caret)


def _stderr(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # nowhere to say it


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
    state.debug = debug


def expression_command(name: str | None = None):
    """Register an expression command: EXPR and the shared options are added for it."""
    return app.command(name, cls=ExpressionCommand)


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
AtOpt = Annotated[
    Optional[str],
    typer.Option(
        "--at",
        metavar="POINT",
        help="A value for every variable, e.g. w=1,x=2,y=-0.5 (values may be constants: pi/4).",
        show_default=False,
    ),
]
CseOpt = Annotated[
    bool,
    typer.Option(
        "--cse",
        help="Name shared subexpressions (t0, t1, ...) once and refer to them: the derivatives "
        "of a big loss stay as small as the loss.",
    ),
]


def _not_both(at: str | None, cse: bool) -> None:
    if at is not None and cse:
        raise InputError("give --at (numbers) or --cse (shared subexpressions), not both")


# ---------------------------------------------------------------- commands


@expression_command()
def grad(wrt: WrtOpt = None, at: AtOpt = None, cse: CseOpt = False) -> Compute:
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
    from symgrad.derive.partial import gradient

    _not_both(at, cse)

    def compute(text: str):
        result = gradient(read(text), wrt, cse=cse)
        if at is None:
            return result
        from symgrad.numeric.evaluate import gradient_at

        return gradient_at(result, at)

    return compute


@expression_command()
def hessian(wrt: WrtOpt = None, at: AtOpt = None, cse: CseOpt = False) -> Compute:
    """The symmetric matrix of second partial derivatives of EXPR.

    With --at, also its entries at that point.

    \b
    Examples:
      symgrad hessian "x^2*y + sin(x*y)" --wrt x,y
      symgrad hessian "(y - (w*x + b))^2" -w w,b --format json
      symgrad hessian "x^3*y" --at x=1,y=2
      symgrad hessian '$w^2x+b^2$' --format latex
    """
    from symgrad.derive.higher import hessian as compute_hessian

    _not_both(at, cse)
    return _at(lambda text: compute_hessian(read(text), wrt, cse=cse), at)


@expression_command()
def jacobian(wrt: WrtOpt = None, at: AtOpt = None, cse: CseOpt = False) -> Compute:
    """The Jacobian of a vector EXPR: one row per output, one column per variable.

    A vector is [f1, f2, ...] or softmax(a, b, ...); softmax(a, b)[k] is output k (from 0).
    With --at, also its entries at that point.

    \b
    Examples:
      symgrad jacobian "softmax(a, b, c)" --wrt a,b,c --format json
      symgrad jacobian "[x*y, x + y, sin(x)]"
      symgrad jacobian "[r*cos(t), r*sin(t)]" --at r=2,t=pi/4
      symgrad jacobian "[r*cos(t), r*sin(t)]" --format latex
    """
    from symgrad.derive.higher import jacobian as compute_jacobian

    _not_both(at, cse)
    return _at(lambda text: compute_jacobian(read(text), wrt, cse=cse), at)


@expression_command()
def diff(
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
        int,
        typer.Option("--order", "-n", min=1, help="How many times to differentiate."),
    ] = 1,
    at: AtOpt = None,
) -> Compute:
    """One higher or mixed partial derivative of EXPR.

    With --at, also its value at that point.

    \b
    Examples:
      symgrad diff "sigmoid(x)" --wrt x --order 2
      symgrad diff "x^3*y^2" --wrt x,y --format json
      symgrad diff "exp(-x^2)" --order 3 --at x=0.5
      symgrad diff '$e^{-x^2}$' --order 3 --format latex
    """
    from symgrad.derive.higher import derivative

    return _at(lambda text: derivative(read(text), wrt, order), at)


def _at(compute: Compute, at: str | None) -> Compute:
    """``compute``, then its result evaluated at the point ``at`` when one is given."""
    if at is None:
        return compute

    def at_point(text: str):
        from symgrad.numeric.evaluate import values_at

        return values_at(compute(text), at)

    return at_point


@expression_command()
def check(
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
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=2**63 - 1, help="Seed of the random points.")
    ] = 0,
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
) -> Compute:
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
    from symgrad.numeric.check import DEFAULT_POINTS, check_claim

    if at is not None and points is not None:
        raise InputError("give either --at (one point) or --points (random points), not both")
    claims = list(claim or [])

    def compute(text: str):
        return check_claim(
            read(text),
            claims,
            wrt,
            at=at,
            points=DEFAULT_POINTS if points is None else points,
            seed=seed,
            rtol=rtol,
            atol=atol,
        )

    return compute


class Target(str, Enum):
    numpy = "numpy"
    python = "python"


@expression_command("codegen")
def codegen_command(
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
) -> Compute:
    """Python code returning the value of EXPR and its gradient (one reverse sweep).

    The function takes every variable (x2 before x10) and returns (value, gradient), the
    gradient a tuple aligned with --wrt. Shared values and adjoints are computed once.

    \b
    Examples:
      symgrad codegen "y*log(w*x+b)" --wrt w,b > loss_grad.py
      symgrad codegen "sigmoid(w*x + b)" --target python --name sigmoid_grad
    """
    from symgrad.numeric.code import codegen

    kind = Target(target).value
    return lambda text: codegen(read(text), wrt, kind, name)


@app.command(cls=HeadedCommand)
def functions(
    fmt: Annotated[
        str,
        typer.Option(*FORMAT.decls, help=FORMAT.help, click_type=FORMAT.type),
    ] = "auto",
) -> None:
    """List the functions EXPR may call, with their arity and meaning.

    \b
    Example:
      symgrad functions --format json
    """
    from symgrad.functions import FUNCTIONS

    kind = resolve_format(fmt.lower())
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


# ---------------------------------------------------------------- the commands as functions


def compute_for(command: str, options: dict[str, Any]):
    """The compute function and run-loop settings of ``command`` with ``options`` given by
    Python name (what ``symgrad.batch`` runs)."""
    import inspect

    from symgrad.cli.loop import Settings
    from symgrad.cli.options import SHARED
    from symgrad.limits import LIMIT_FIELDS, Limits

    group = typer.main.get_command(app)
    found = group.commands.get(command)
    if not isinstance(found, ExpressionCommand):
        names = ", ".join(n for n, c in group.commands.items() if isinstance(c, ExpressionCommand))
        raise InputError(f"unknown command {command!r}: choose one of {names}")
    function = found.callback.__wrapped__
    own = set(inspect.signature(function).parameters)
    shared = {s.name for s in SHARED}
    unknown = sorted(set(options) - own - shared)
    if unknown:
        listed = ", ".join(sorted(own | {"latex", *LIMIT_FIELDS}))
        raise InputError(f"{command} has no option {unknown[0]!r}; its options are {listed}")
    compute = function(**{k: v for k, v in options.items() if k in own})
    limits = Limits(**{k: v for k, v in options.items() if k in LIMIT_FIELDS})
    return compute, Settings(fmt="json", latex=bool(options.get("latex")), limits=limits)


def main() -> None:
    """Console-script entry point.

    Runs under a watchdog parent process (``symgrad.cli.watchdog``) that ends the program when
    one expression overruns its time limit inside an operation nothing else can interrupt.
    Ends with ``os._exit``: tearing down an interpreter that has loaded sympy takes longer
    than most symgrad commands (about 40 ms), and a pipeline pays it once per call.
    """
    state.owns_process = True
    # symgrad does no large linear algebra: one BLAS thread keeps numpy's address space
    # small under the memory ceiling (--max-memory)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if sys.stdout is None:  # started with stdout closed (>&-): nothing can be written
        _stderr("symgrad: output error: stdout is closed; nothing can be written")
        os._exit(OutputError.exit_code)
    from symgrad.cli.watchdog import guard

    guard()  # the time limit's backstop: from here on this is the child, doing the work
    code = app(standalone_mode=False)
    code = code if isinstance(code, int) else 0
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except OSError as err:
        _stderr(f"symgrad: output error: cannot write the output: {err.strerror or err}")
        code = code or OutputError.exit_code
    except ValueError:
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    os._exit(code)
