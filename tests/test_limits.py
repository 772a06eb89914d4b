"""Limits: the static bounds, the budget of time, stack and memory, and the one top-level guard."""

from __future__ import annotations

import time

import pytest
import typer
from typer.testing import CliRunner

from symgrad.budget import bounded
from symgrad.cli.app import app, run_guarded
from symgrad.errors import LimitError, ParseError
from symgrad.limits import (
    DEFAULT_LIMITS,
    LIMIT_FIELDS,
    Limits,
    applied,
    check_order,
    current_limits,
)
from symgrad.parsing.plain import parse

runner = CliRunner()


def invoke(*args, input=None):
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- static limits

REFUSED = [
    # (input, limits, the option the message names)
    ("(((x)))", Limits(max_depth=2), "--max-depth"),
    ("sin(cos(x))", Limits(max_depth=1), "--max-depth"),
    ("x^x^x", Limits(max_depth=1), "--max-depth"),
    ("x + y", Limits(max_chars=4), "--max-chars"),
    ("x + y + z", Limits(max_tokens=4), "--max-tokens"),
    ("2^100", Limits(max_literal_bits=64), "--max-literal-bits"),
    ("12345678901234567890123", Limits(max_literal_bits=64), "--max-literal-bits"),
    ("(3x)^100", Limits(max_literal_bits=64), "--max-literal-bits"),
    ("2^40*2^40*x", Limits(max_literal_bits=64), "--max-literal-bits"),
    ("1e400", DEFAULT_LIMITS, "double"),
    ("1e-400", DEFAULT_LIMITS, "double"),
    ("exp(1000.0)", DEFAULT_LIMITS, "double"),
    ("10^400*1.0", DEFAULT_LIMITS, "double"),
    ("2.0^2000", DEFAULT_LIMITS, "double"),
    ("e^1e300", DEFAULT_LIMITS, "double"),
]


@pytest.mark.parametrize("text, limits, option", REFUSED)
def test_static_limits_name_the_option_that_raises_them(text, limits, option):
    with pytest.raises(LimitError) as info:
        parse(text, limits)
    assert option in info.value.message
    assert info.value.exit_code == 3


ALLOWED = ["1e308", "1e-300", "exp(700.0)", "2^5000", "(3x)^1000", "e^1000", "x^(10^3000)"]


@pytest.mark.parametrize("text", ALLOWED)
def test_large_but_allowed_numbers_parse(text):
    parse(text)


def test_parse_uses_the_limits_in_force():
    assert current_limits() is DEFAULT_LIMITS
    with applied(Limits(max_depth=1)):
        with pytest.raises(LimitError):
            parse("((x))")
    assert parse("((x))") == parse("x")


def test_derivative_order_is_bounded():
    assert check_order(3) == 3
    with pytest.raises(LimitError, match="--max-order"):
        check_order(101)
    assert check_order(500, Limits(max_order=500)) == 500


# ---------------------------------------------------------------- time, stack, memory


def _spin():
    while True:
        pass


def _recurse(n=0):
    return _recurse(n + 1)


def _allocate():
    raise MemoryError


def test_bounded_returns_and_raises_what_the_call_does():
    assert bounded(lambda: 42) == 42
    with pytest.raises(ParseError):
        bounded(lambda: parse("x +"))


@pytest.mark.parametrize(
    "call, timeout, words",
    [
        (_spin, 0.2, "--timeout"),
        (_recurse, 8, "nests too deeply"),
        (_allocate, 8, "--max-memory"),
    ],
)
def test_running_out_of_time_stack_or_memory_is_a_limit_error(call, timeout, words):
    start = time.monotonic()
    with pytest.raises(LimitError) as info:
        bounded(call, Limits(timeout=timeout))
    assert words in info.value.message
    assert time.monotonic() - start < 10


def _depth(n):
    return 0 if n == 0 else 1 + _depth(n - 1)


def test_the_worker_recurses_far_past_pythons_default_limit():
    # sympy recurses several frames per level of the tree: the derivative of
    # x*(1 + x*(1 + ...)) 100 levels deep needs more than Python's default 1,000 frames
    assert bounded(lambda: _depth(8000), Limits(timeout=60)) == 8000


# ---------------------------------------------------------------- the CLI


def test_every_command_that_reads_an_expression_has_the_limit_options():
    group = typer.main.get_group(app)
    for name, command in group.commands.items():
        params = {p.name for p in command.params}
        if "expr" in params:
            assert set(LIMIT_FIELDS) <= params, name


@pytest.mark.parametrize(
    "args, words",
    [
        (["grad", "((x))", "--max-depth", "1"], "--max-depth"),
        (["grad", "x + y", "--max-chars", "3"], "--max-chars"),
        (["grad", "2^100*x", "--max-literal-bits", "64"], "--max-literal-bits"),
        (["grad", "sigmoid(" * 100 + "x" + ")" * 100, "--timeout", "0.2"], "--timeout"),
    ],
)
def test_limit_options_reach_the_library(args, words):
    code, out, err = invoke(*args)
    assert code == 3 and out == ""
    assert len(err.splitlines()) == 1 and words in err and err.startswith("symgrad: limit error")


def test_a_raised_limit_lets_the_input_through():
    assert invoke("grad", "2^100*x", "--max-literal-bits", "64")[0] == 3
    code, out, _ = invoke("grad", "2^100*x", "--max-literal-bits", "200")
    assert code == 0 and "df/dx = 1267650600228229401496703205376" in out


def test_a_bad_limit_value_is_a_usage_error():
    code, out, err = invoke("grad", "x", "--timeout", "-1")
    assert code == 2 and out == "" and "usage error" in err


def _raise(exc):
    def call():
        raise exc

    return call


@pytest.mark.parametrize(
    "exc, code, words",
    [
        (KeyboardInterrupt(), 130, "interrupted"),
        (MemoryError(), 3, "out of memory"),
        (RecursionError(), 3, "limit error"),
        (LimitError("gave up"), 3, "limit error: gave up"),
        (ZeroDivisionError("boom"), 70, "internal error: ZeroDivisionError: boom"),
    ],
)
def test_the_top_level_guard_maps_everything_to_one_line(exc, code, words, capsys):
    assert run_guarded(_raise(exc)) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and words in captured.err


def test_a_broken_pipe_is_quiet(capsys, monkeypatch):
    import symgrad.cli.app

    monkeypatch.setattr(symgrad.cli.app, "silence_stdout", lambda: None)
    assert run_guarded(_raise(BrokenPipeError())) == 0
    assert capsys.readouterr().err == ""


def test_debug_shows_the_traceback(monkeypatch, capsys):
    from symgrad.cli.app import state

    monkeypatch.setattr(state, "debug", True)
    assert run_guarded(_raise(ZeroDivisionError("boom"))) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: boom" in err
    assert err.splitlines()[-1].startswith("symgrad: internal error: ZeroDivisionError")
