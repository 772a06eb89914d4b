"""Fuzzing the option values of every command: whatever a user types after an option, the
answer is a result or one line on stderr with an exit code in {0, 1, 2, 3, 4}."""

from __future__ import annotations

import click
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from symgrad.cli.app import app
from symgrad.cli.options import ExpressionCommand

runner = CliRunner()
GROUP = typer.main.get_command(app)
COMMANDS = {
    name: command
    for name, command in GROUP.commands.items()
    if isinstance(command, ExpressionCommand) or name == "functions"
}
# --jobs forks processes, --max-depth sizes a thread's stack: fuzzed with modest values below
SMALL_ONLY = {"--jobs": ["0", "1", "2", "-1", "x"], "--max-depth": ["1", "5", "100", "0", "-3"]}

ODD_VALUES = [
    "", " ", "-", "-1", "0", "1", "2", "inf", "-inf", "nan", "1e400", "1e-400", "10^20",
    "9" * 40, "0.5", "x", "y", "x,y", "x,x", ",", "=", "x=", "=1", "x=1", "x=1,y=2",
    "x=1,x=2", "x=2^1100", "x=log(0)", "x=sqrt(-1)", "x=1e400", "x=pi/4,y=e", "θ=1",
    "a⑴=1", "x=1;y=2", "x*y", "x +", "__import__('os')", "\x00", "\u202e", "ｘ", "-x",
    "--format", "json", "latex", "python", "fortran", "f", "lambda", "value", "numpy",
    "/dev/null", "/nonexistent", ".",
]  # fmt: skip


def _options(command: click.Command) -> list[click.Option]:
    return [
        p
        for p in command.params
        if isinstance(p, click.Option) and p.name not in ("help", "file") and not p.hidden
    ]


NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "1", "2", "-1", "1e-300", "5e-324", "1e300", "9223372036854775808"]),
)
POINTS = st.lists(
    st.tuples(
        st.sampled_from(["x", "y", "z", "θ", "x"]), st.one_of(NUMBERS, st.sampled_from(ODD_VALUES))
    ),
    max_size=3,
).map(lambda items: ",".join(f"{k}={v}" for k, v in items))


def _value(option: click.Option) -> st.SearchStrategy[str]:
    name = option.opts[0]
    if name in SMALL_ONLY:
        return st.sampled_from(SMALL_ONLY[name])
    if isinstance(option.type, (click.types.IntParamType, click.types.FloatParamType)):
        return st.one_of(NUMBERS, st.sampled_from(ODD_VALUES))
    if name == "--at":
        return st.one_of(POINTS, st.sampled_from(ODD_VALUES))
    return st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=8), NUMBERS)


@st.composite
def command_lines(draw) -> list[str]:
    name = draw(st.sampled_from(sorted(COMMANDS)))
    command = COMMANDS[name]
    args = [name]
    if name != "functions":
        args.append(draw(st.sampled_from(["x*y", "sin(x)^2", "relu(x) + y", "x"])))
    for option in draw(st.lists(st.sampled_from(_options(command)), max_size=4, unique=True)):
        args.append(draw(st.sampled_from(option.opts)))
        if not option.is_flag:
            args.append(draw(_value(option)))
    return args


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_any_option_value_is_a_result_or_one_error_line(args):
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1, 2, 3, 4), (args, result.stderr, result.exception)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, args
    if result.exit_code in (2, 3) and not result.stdout:
        assert len(result.stderr.splitlines()) == 1, (args, result.stderr)
