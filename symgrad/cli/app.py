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
from symgrad.cli.batch_command import BatchCommand
from symgrad.cli.loop import Compute, as_error, read, silence_stdout
from symgrad.cli.options import FORMAT, ExpressionCommand, HeadedCommand, resolve_format
from symgrad.cli.shaped import DimsOpt, ShapeOpt, shaped
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
        # click and typer each suggest the closest command: say it once
        message = re.sub(r"( Did you mean [^?]*\?)\1+", r"\1", message)
        _stderr(f"symgrad: usage error: {message} (see 'symgrad{command} --help')")
        return 2
    except (KeyboardInterrupt, typer.Abort):
        _stderr("symgrad: interrupted")
        return 130
    except BrokenPipeError:
        silence_stdout()
        return 0
    except OSError as err:  # writing help, a version or a listing to a full disk
        silence_stdout()
        report(OutputError(f"cannot write the output: {err.strerror or err}"))
        return OutputError.exit_code
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
def grad(
    wrt: WrtOpt = None,
    at: AtOpt = None,
    cse: CseOpt = False,
    shape: ShapeOpt = None,
    dims: DimsOpt = None,
) -> Compute:
    """Every partial derivative of EXPR and its gradient vector.

    With --at, also the value and the gradient at that point (exit 4 where they are not
    real and finite: outside the domain, at a kink). With --shape, names are vectors and
    matrices and each partial is one matrix formula in the shape of its variable; --at then
    takes nested lists (@point.json, or 'X=[[1, 2], [3, 4]], w=[1, 0]').

    \b
    Examples:
      symgrad grad "y*log(w*x+b)" --wrt w,b
      symgrad grad "sigmoid(w*x + b)" --format json
      symgrad grad "(y - (x*w + b))^2" -w w,b --format latex
      symgrad grad "y*log(w*x+b)" --at w=1,x=2,y=3,b=0.5
      symgrad grad '$\\frac{y}{wx+b}x$' --wrt w,b
      symgrad grad "tanh(w*x + b)^2" --cse
      printf 'x^2\\nsin(x)*y\\n' | symgrad grad - --format json
      symgrad grad "norm2(X*w - y)^2" --wrt w --shape X=m,n --shape w=n --shape y=m
      symgrad grad "sum(x + b)" --wrt b --shape 'x=3,4; b=3,4'
    """
    from symgrad.derive.partial import gradient

    _not_both(at, cse)
    shapes = shaped(shape, dims)
    if shapes:
        from symgrad.cli import shaped as matrix

        return matrix.grad(shapes, wrt, at, cse)

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
def jacobian(
    wrt: WrtOpt = None,
    at: AtOpt = None,
    cse: CseOpt = False,
    shape: ShapeOpt = None,
    dims: DimsOpt = None,
) -> Compute:
    """The Jacobian of a vector EXPR: one row per output, one column per variable.

    A vector is [f1, f2, ...] or softmax(a, b, ...); softmax(a, b)[k] is output k (from 0).
    With --at, also its entries at that point. With --shape, EXPR is a vector expression and
    the Jacobian by each vector variable is one matrix formula.

    \b
    Examples:
      symgrad jacobian "softmax(a, b, c)" --wrt a,b,c --format json
      symgrad jacobian "[x*y, x + y, sin(x)]"
      symgrad jacobian "[r*cos(t), r*sin(t)]" --at r=2,t=pi/4
      symgrad jacobian "[r*cos(t), r*sin(t)]" --format latex
      symgrad jacobian "tanh(W*x + b)" --wrt x --shape 'W=m,n; x=n; b=m'
    """
    from symgrad.derive.higher import jacobian as compute_jacobian

    _not_both(at, cse)
    shapes = shaped(shape, dims)
    if shapes:
        from symgrad.cli import shaped as matrix

        return matrix.jacobian(shapes, wrt, at, cse)
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
    shape: ShapeOpt = None,
    dims: DimsOpt = None,
) -> Compute:
    """Check the gradient of EXPR against finite differences, and claimed derivatives.

    Exit 0 pass, 1 mismatch (a --claim is wrong), 4 unverifiable (a kink, outside the
    domain). A claim is compared with the symbolic derivative at random points inside the
    domain; a wrong one is shown with a counterexample and, where cheap, what differs. With
    --shape, every entry of each matrix gradient is compared, at random matrices of --dims
    sizes (10 points by default) or at --at @point.json, and a --claim is a matrix formula.

    \b
    Examples:
      symgrad check "y*log(w*x+b)" --points 1000
      symgrad check "relu(x)" --at x=0
      symgrad check "(y - (x*w + b))^2" --wrt w,b --claim "2*(y-x*w-b)*x" --claim "2*(y-w*x-b)"
      symgrad check "sigmoid(x)" --claim "sigmoid(x)*(1 - sigmoid(x))" --format json
      symgrad check "x'*A*x" --wrt x --shape 'A=n,n; x=n' --claim "2*A*x" --dims n=4
    """
    from symgrad.numeric.check import DEFAULT_POINTS, check_claim

    if at is not None and points is not None:
        raise InputError("give either --at (one point) or --points (random points), not both")
    claims = list(claim or [])
    shapes = shaped(shape, dims)
    if shapes:
        from symgrad.cli import shaped as matrix

        return matrix.check(shapes, wrt, at, points, seed, claims, rtol, atol)

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


@expression_command()
def explain(wrt: WrtOpt = None, at: AtOpt = None) -> Compute:
    """How each partial derivative of EXPR is obtained, step by step; with --at, the
    backward pass of its computation graph, as PyTorch runs it.

    Each step names its rule (sum, constant factor, product, quotient, power, chain, a known
    derivative from the table of functions) and what it gives; inner functions are named
    (u = w*x + b). With --at: each node's value, requires_grad, the local derivative on each
    edge and the accumulated gradient; --format dot writes the graph for Graphviz.

    \b
    Examples:
      symgrad explain "sigmoid(w*x + b)" --wrt w
      symgrad explain "(y - (x*w + b))^2" --wrt w --format latex
      symgrad explain "w*x + b" --wrt w,b --at w=0.5,x=2,b=1
      symgrad explain "w*x + b" --wrt w,b --at w=0.5,x=2,b=1 --format dot | dot -Tsvg
    """

    def compute(text: str):
        if at is None:
            from symgrad.derive.explain import explain as derivation

            return derivation(read(text), wrt)
        from symgrad.numeric.backward import explain_at

        return explain_at(read(text), wrt, at)

    return compute


RangeOpt = Annotated[
    Optional[str],
    typer.Option(
        "--range",
        "-r",
        metavar="LOW:HIGH",
        help="The range of the plotted variable(s), e.g. -5:5 or -pi:pi; two variables may "
        "take two, -2:2,-1:3 [default: -5:5].",
        show_default=False,
    ),
]
OutOpt = Annotated[
    Optional[str],
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help='Write a picture, PNG, SVG or PDF by its suffix (needs pip install "symgrad[plot]").',
        show_default=False,
    ),
]


def _load_pictures(path: str) -> None:
    """Check the file's suffix and import matplotlib before the work on an expression starts:
    its import takes a second of the expression's time budget otherwise."""
    from symgrad.printing.plot import file_format, load_matplotlib

    file_format(path)
    load_matplotlib()


@expression_command()
def plot(
    wrt: WrtOpt = None,
    range_: RangeOpt = None,
    at: Annotated[
        Optional[str],
        typer.Option(
            "--at", metavar="POINT", help="Values of the variables not plotted.", show_default=False
        ),
    ] = None,
    output: OutOpt = None,
) -> Compute:
    """f and its partial derivative over a range: in the terminal, or as a picture with -o.

    Poles and gaps of the domain are not bridged by a line; kinks are marked. Two variables
    (--wrt x,y) give contours of f with the gradient as arrows (a picture, -o FILE).
    --format json gives the sampled numbers.

    \b
    Examples:
      symgrad plot "sigmoid(x)" --range -100:100
      symgrad plot "tan(x)" --range -3:3
      symgrad plot "y*log(w*x + b)" --wrt w --range 0.1:3 --at x=1.5,y=2,b=0.5
      symgrad plot "x^2 + 3*y^2" --wrt x,y --range -2:2 -o field.svg
      symgrad plot "relu(x)^2" --format json
    """
    span = range_ if range_ is not None else "-5:5"
    if output is not None:
        _load_pictures(output)

    def compute(text: str):
        from symgrad.derive.partial import variables
        from symgrad.numeric.plotdata import field, sample

        expr = read(text)
        two = (wrt is not None and "," in wrt) or (wrt is None and len(variables(expr)) == 2)
        data = field(expr, wrt, span, at) if two else sample(expr, wrt, span, at)
        if output is None:
            return data
        from symgrad.printing.plot import file_format, save_plot
        from symgrad.results import Picture

        save_plot(data, output)
        return Picture(output, file_format(output), data)

    return compute


@expression_command()
def descend(
    start: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="POINT",
            help="The starting point: a value for every variable, e.g. x=2,y=1.",
            show_default=False,
        ),
    ],
    lr: Annotated[
        Optional[float],
        typer.Option(
            "--lr", metavar="RATE", help="Learning rate [default: 0.001].", show_default=False
        ),
    ] = None,
    momentum: Annotated[
        Optional[float],
        typer.Option(
            "--momentum",
            metavar="MU",
            help="Momentum in [0, 1) (heavy ball: "
            "v <- mu*v - lr*grad; x <- x + v) [default: 0.9 for momentum, nesterov].",
            show_default=False,
        ),
    ] = None,
    optimizer: Annotated[
        Optional[str],
        typer.Option(
            "--optimizer",
            metavar="NAME",
            help="sgd, momentum, nesterov or adam [default: momentum with --momentum, else sgd].",
            show_default=False,
        ),
    ] = None,
    steps: Annotated[
        Optional[int],
        typer.Option(
            "--steps",
            metavar="N",
            help="Step budget [default: 50,000 for sgd, "
            "20,000 for adam, 10,000 for momentum and nesterov].",
            show_default=False,
        ),
    ] = None,
    tol: Annotated[
        float, typer.Option("--tol", metavar="T", help="Converged when |grad f| < T.")
    ] = 1e-6,
    picture: Annotated[
        Optional[str],
        typer.Option(
            "--plot",
            metavar="FILE",
            help="Also draw the path over f (PNG, SVG or PDF).",
            show_default=False,
        ),
    ] = None,
) -> Compute:
    """Gradient descent on the symbolic gradient of EXPR from --from, with the path and a
    verdict: converged (|grad f| < --tol, exit 0); diverged, left domain (a step went where f
    is undefined) or step limit (exit 1).

    The gradient is compiled with f into generated numpy code, no finite differences. On a
    terminal every k-th step is shown; --format json gives every step (JSON Lines), then the
    verdict.

    \b
    Examples:
      symgrad descend "x^4 - 3*x^2 + x" --from x=2 --lr 0.01
      symgrad descend "x^4 - 3*x^2 + x" --from x=2 --lr 0.01 --momentum 0.9
      symgrad descend "(1-x)^2 + 100*(y-x^2)^2" --from x=-1.5,y=2 --optimizer adam
      symgrad descend "(x - 3)^2" --from x=0 --lr 0.1 --format json
    """

    if picture is not None:
        _load_pictures(picture)

    def compute(text: str):
        from symgrad.numeric.descend import descend as run_descent

        result = run_descent(
            read(text),
            start,
            lr=lr,
            optimizer=optimizer,
            momentum=momentum,
            steps=steps,
            tol=tol,
        )
        if picture is not None:
            from symgrad.numeric.plotdata import around_path
            from symgrad.printing.plot import save_descent

            data = around_path(result)
            two = data is not None and len(result.wrt) == 2
            save_descent(
                result,
                picture,
                field=data if two else None,
                curve=data if data is not None and not two else None,
            )
        return result

    return compute


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
    shape: ShapeOpt = None,
) -> Compute:
    """Python code returning the value of EXPR and its gradient (one reverse sweep).

    The function takes every variable (x2 before x10) and returns (value, gradient), the
    gradient a tuple aligned with --wrt. Shared values and adjoints are computed once. With
    --shape (target numpy), it takes numpy arrays (vectors 1-D, matrices 2-D) and returns
    each gradient in its variable's shape.

    \b
    Examples:
      symgrad codegen "y*log(w*x+b)" --wrt w,b > loss_grad.py
      symgrad codegen "sigmoid(w*x + b)" --target python --name sigmoid_grad
      symgrad codegen "norm2(y - V*tanh(W*x + b))^2" --shape 'y=p; V=p,h; W=h,n; x=n; b=h'
    """
    from symgrad.numeric.code import codegen

    kind = Target(target).value
    shapes = shaped(shape, None)
    if shapes:
        from symgrad.cli import shaped as matrix

        return matrix.codegen(shapes, wrt, kind, name)
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


@app.command("batch", cls=BatchCommand)
def batch_command(
    ctx: typer.Context,
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="IN...",
            help="Files of expressions, one a line, or globs ('data/*.txt', quoted).",
            show_default=False,
        ),
    ],
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Directory of the answers: one JSON Lines file per partition of the input. "
            "Run again with the same DIR to resume.",
            show_default=False,
        ),
    ],
    command: Annotated[
        str,
        typer.Option(
            "--command",
            metavar="COMMAND",
            help="The command that answers each line (grad, hessian, jacobian, diff, check, "
            "codegen); its options (--wrt, --at, --timeout...) follow and apply to every line.",
        ),
    ] = "grad",
    scheduler: Annotated[
        Optional[str],
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="A running Dask scheduler, e.g. tcp://host:8786.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        Optional[int],
        typer.Option(
            "--workers",
            metavar="N",
            min=1,
            help="Or a local cluster of N worker processes for the run [default: one per CPU].",
            show_default=False,
        ),
    ] = None,
) -> int:
    """Answer files of expressions on a Dask cluster (pip install "symgrad[dask]").

    Each record is the one 'symgrad COMMAND - --format json' prints, with its file and line.
    Partitions already answered in DIR are skipped; a worker lost mid-run loses no line.
    Exit 0, or 1 when any line failed. See docs/at-scale.md.

    \b
    Examples:
      symgrad batch 'data/*.txt' --out answers/ --workers 2 --wrt w,b
      symgrad batch exprs.txt -o answers/ --scheduler tcp://host:8786 --timeout 10
      symgrad batch exprs.txt -o checked/ --command check --claim "2*x"
    """
    from symgrad.cli.cluster import run_command

    return run_command(ctx, inputs, out, command, scheduler, workers)


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
