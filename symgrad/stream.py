"""Pipelines: EXPR '-' (one record per stdin line, in order), ``--file`` and ``--jobs``.

Part of the command line, not of the library: it reads stdin and files and writes records. A
command never sees any of it: it hands ``cli.run`` a function from the text of one expression to
a result, and this module calls that function once per line (in worker processes with
``--jobs``), renders each result to one record and writes it as soon as it is ready.

Nothing heavy is imported at module level: the CLI imports this module to build its commands.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import click

from symgrad.errors import InputError, LimitError, SymgradError
from symgrad.limits import FROM_FILE, Limits, bounded, current_limits

SKIP_CHUNK = 1 << 16
"""Bytes read at a time while skipping the rest of an over-long line."""
SHOWN_CHARS = 100
"""Characters of an over-long line kept as its record's ``input``."""
JOB_LINES = 64
"""Lines per task sent to a worker process with ``--jobs``."""

_META = "symgrad.stream"


# ---------------------------------------------------------------- options of every command


@dataclass(frozen=True)
class StreamOptions:
    """The ``--file`` and ``--jobs`` given to the running command."""

    file: str | None = None
    jobs: int = 1


def add_stream_options(command: click.Command) -> None:
    """Give a command with an EXPR argument ``--file`` and ``--jobs``; EXPR becomes optional.

    The options are not passed to the command's function: with ``--file`` it receives the
    file's text as EXPR, and ``cli.run`` finds ``--jobs`` in the click context. So a command
    never declares them, and one that does not call ``run`` still reads ``--file`` right.
    """
    from typer.core import TyperOption

    expr = next((p for p in command.params if p.name == "expr"), None)
    if expr is None or any(p.name == "file" for p in command.params):
        return
    expr.required = False  # --file PATH stands in for it
    command.callback = _expr_from_file(command.callback)
    command.params += [
        TyperOption(
            param_decls=["--file"],
            metavar="PATH",
            help="Read one expression from a file (newlines are spaces; '-' is all of stdin).",
            expose_value=False,
            callback=_remember("file"),
        ),
        TyperOption(
            param_decls=["--jobs", "-j"],
            type=int,
            default=1,
            metavar="N",
            help="With EXPR '-': answer the lines in N processes, output in input order "
            "(0: one per CPU).",
            expose_value=False,
            callback=_remember("jobs"),
        ),
    ]


def _expr_from_file(callback: Callable[..., Any]) -> Callable[..., Any]:
    def with_file(**kwargs: Any) -> Any:
        options = current_options()
        kwargs["expr"] = expression_text(kwargs.get("expr"), options)
        if options.file is None:
            return callback(**kwargs)
        return compute_file(lambda text: callback(**kwargs), kwargs["expr"], options.file)

    with_file.__wrapped__ = callback
    return with_file


def _remember(name: str):
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if name == "jobs" and value < 0:
            raise click.BadParameter("give a number of processes, 0 for one per CPU", ctx, param)
        ctx.meta.setdefault(_META, {})[name] = value

    return callback


def current_options() -> StreamOptions:
    """The stream options of the command being run (defaults outside a command)."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(_META, {}) if ctx is not None else {}
    jobs = given.get("jobs", 1)
    return StreamOptions(file=given.get("file"), jobs=jobs if jobs else (os.cpu_count() or 1))


# ---------------------------------------------------------------- one expression


def expression_text(expr: str | None, options: StreamOptions, limits: Limits | None = None):
    """The text of the one expression to answer: EXPR, or the contents of ``--file``."""
    if expr is not None and options.file is not None:
        raise click.UsageError(
            "give either EXPR or --file, not both", click.get_current_context(silent=True)
        )
    if options.file is None:
        if expr is None:
            raise click.UsageError(
                "Missing argument 'EXPR': give an expression, '-' for one per line of stdin, "
                "or --file PATH",
                click.get_current_context(silent=True),
            )
        return expr
    if limits is None:
        from symgrad.cli import command_limits  # --max-file-chars of the running command

        limits = command_limits()
    return read_file(options.file, limits)


def read_file(path: str, limits: Limits | None = None) -> str:
    """One expression from a file (``-``: all of stdin), at most ``limits.max_file_chars`` long.

    Newlines in the file are whitespace, so a long expression may be wrapped over lines.
    """
    limits = limits or current_limits()
    cap = 4 * limits.max_file_chars  # UTF-8 takes at most 4 bytes a character
    try:
        if path == "-":
            data = _stdin_bytes().read(cap + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(cap + 1)
    except OSError as err:
        raise InputError(f"cannot read --file {path}: {err.strerror or err}") from None
    if len(data) > cap:
        raise LimitError(_file_too_long(path, limits))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        start = data.rfind(b"\n", 0, err.start) + 1
        column = len(data[start : err.start].decode("utf-8", "replace")) + 1
        raise InputError(
            f"--file {path} is not UTF-8 text: byte 0x{data[err.start]:02x} at line {line}, "
            f"column {column}"
        ) from None
    if len(text) > limits.max_file_chars:
        raise LimitError(_file_too_long(path, limits))
    return text


def _file_too_long(path: str, limits: Limits) -> str:
    return (
        f"--file {path} is over the limit of {limits.max_file_chars:,} characters "
        "(limit max_file_chars)"
    )


def compute_file(compute: Callable[[str], Any], text: str, path: str) -> Any:
    """``compute(text)`` for the contents of a file: its length bound is ``max_file_chars``,
    and an error's column is given as a line and column of the file."""
    token = FROM_FILE.set(True)
    try:
        return compute(text)
    except SymgradError as err:
        if err.column and "\n" in text[: err.column - 1]:
            before = text[: err.column - 1]
            line = before.count("\n") + 1
            column = len(before) - before.rfind("\n")
            err.message = f"{err.message} (line {line}, column {column} of {path})"
            err.column = None
        raise
    finally:
        FROM_FILE.reset(token)


# ---------------------------------------------------------------- reading a stream


@dataclass(frozen=True)
class Line:
    """One expression line of a stream; ``problem`` is (kind, message, column) when the line
    could not even be read as text (too long, not UTF-8)."""

    number: int
    text: str
    problem: tuple[str, str, int | None] | None = None


def _stdin_bytes() -> BinaryIO:
    stdin = sys.stdin
    if stdin is None:
        raise InputError("stdin is closed; give EXPR or --file PATH instead of '-'")
    return getattr(stdin, "buffer", stdin)


def read_lines(stream: BinaryIO, limits: Limits | None = None) -> Iterator[Line]:
    """The expression lines of a byte stream, as they arrive.

    Blank lines and ``#`` comments are skipped and CRLF is accepted. Memory stays bounded
    whatever the input: a line longer than ``limits.max_chars`` is skipped in chunks and
    comes out as a limit problem, a line that is not UTF-8 as an input problem.
    """
    limits = limits or current_limits()
    cap = 4 * limits.max_chars + 2  # UTF-8 takes at most 4 bytes a character, then CR LF
    number = 0
    while True:
        raw = stream.readline(cap + 1)
        if not raw:
            return
        number += 1
        if len(raw) > cap and not raw.endswith(b"\n"):
            size = len(raw) + _skip_line(stream)
            shown = raw[: SHOWN_CHARS * 4].decode("utf-8", "replace")[:SHOWN_CHARS] + "..."
            message = (
                f"line is {size:,} bytes, over the limit of {limits.max_chars:,} characters "
                "(limit max_chars; read one large expression with --file)"
            )
            yield Line(number, shown, ("limit", message, None))
            continue
        body = raw[:-1] if raw.endswith(b"\n") else raw
        if body.endswith(b"\r"):
            body = body[:-1]
        if number == 1 and body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]  # the byte order mark some Windows tools write
        stripped = body.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            column = len(body[: err.start].decode("utf-8", "replace")) + 1
            message = f"the line is not UTF-8 text (byte 0x{body[err.start]:02x})"
            yield Line(number, body.decode("utf-8", "replace"), ("input", message, column))
            continue
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        yield Line(number, text)


def _skip_line(stream: BinaryIO) -> int:
    """Read up to the end of the current line in bounded chunks; return the bytes skipped."""
    skipped = 0
    while True:
        chunk = stream.readline(SKIP_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


# ---------------------------------------------------------------- answering a line


@dataclass(frozen=True)
class Answer:
    """What one line gives: a record for stdout, or a line for stderr, and a status."""

    out: str | None
    err: str | None
    code: int  # 0 or the result's exit code; 1 for a failed line


class _InternalError(SymgradError):
    kind = "internal"
    exit_code = 70


_PROBLEMS = {"limit": LimitError, "input": InputError}


def answer(line: Line, compute: Callable[[str], Any], kind: str, debug: bool = False) -> Answer:
    """Compute and render one line; every failure becomes an error record, never an exception
    (but KeyboardInterrupt, and any internal error when ``debug`` is set)."""
    try:
        if line.problem is not None:
            problem, message, column = line.problem
            raise _PROBLEMS[problem](message, column=column)
        def work() -> tuple[Any, str]:
            result = compute(line.text)
            return result, record(result, kind, line.text, stream=True)

        result, out = bounded(work)  # the time, stack and memory budget of the command
    except SymgradError as err:
        return failed(err, line, kind)
    except RecursionError:
        err = LimitError("expression too deeply nested for this operation; split it up")
        return failed(err, line, kind)
    except MemoryError:
        return failed(LimitError("out of memory; the expression is too large"), line, kind)
    except Exception as exc:  # noqa: BLE001 - one bad line never takes the stream down
        if debug:
            raise
        err = _InternalError(
            f"{type(exc).__name__}: {exc}; please report it with the input, or rerun with "
            "--debug for the traceback"
        )
        return failed(err, line, kind)
    return Answer(out, None, getattr(result, "exit_code", 0))


def failed(err: SymgradError, line: Line, kind: str) -> Answer:
    """The answer for a line that failed: a JSON error record, or one line for stderr."""
    if kind == "json":
        from symgrad.render import error_dict

        return Answer(json_line(error_dict(err, line.text)) + "\n", None, 1)
    where = f" at column {err.column}" if err.column else ""
    message = f"symgrad: line {line.number}: {err.kind} error{where}: {err.message}"
    return Answer(None, printable(message) + "\n", 1)


def record(result: Any, kind: str, source: str | None, stream: bool = False) -> str:
    """A result rendered as one record of text, ending with a newline.

    A JSON record is one line. A text or LaTeX record takes several lines; in a stream each
    one ends with a blank line, so records stay apart (``awk -v RS= ...`` reads one at a time).
    """
    from symgrad.render import render

    if kind == "json":
        return json_line(render(result, "json", source)) + "\n"
    if kind == "pretty":
        return _pretty(result)
    text = "\n".join(render(result, kind)) + "\n"
    return text + "\n" if stream else text


def _pretty(result: Any) -> str:
    from symgrad.cli import _console, print_blocks
    from symgrad.render import render

    console = _console()
    with console.capture() as captured:
        print_blocks(render(result, "pretty", width=console.width), console)
    return captured.get()


_JSON_ESCAPES = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def json_line(data: Any) -> str:
    """One JSON Lines record: UTF-8, and no character that any reader could take for a line
    break (U+2028, U+2029 and NEL are escaped, as JSON already escapes CR and LF)."""
    return json.dumps(data, ensure_ascii=False).translate(_JSON_ESCAPES)


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}


def printable(text: str) -> str:
    """``text`` with control characters escaped: a message never moves a terminal's cursor."""
    return text.translate(_CONTROL)


# ---------------------------------------------------------------- the stream


def answer_stream(
    compute: Callable[[str], Any],
    kind: str,
    jobs: int = 1,
    *,
    stream: BinaryIO | None = None,
    limits: Limits | None = None,
    debug: bool = False,
) -> int:
    """Answer every expression line of ``stream`` (default stdin) in order, writing each
    record as soon as it is ready. Returns 1 if any line failed or gave a non-zero exit code.
    """
    lines = read_lines(stream if stream is not None else _stdin_bytes(), limits)
    if jobs > 1 and kind != "pretty" and _can_fork():
        answers = _in_workers(lines, compute, kind, jobs, debug)
    else:
        answers = (answer(line, compute, kind, debug) for line in lines)
    status = 0
    try:
        for item in answers:
            _write(item)
            status = status or int(item.code != 0)
    except BrokenPipeError:
        # the reader went away (| head -1): it has all it wanted, so stop quietly
        from symgrad.cli import _silence_stdout

        _silence_stdout()
    finally:
        if hasattr(answers, "close"):
            answers.close()  # stops the worker processes now
    return status


def _write(item: Answer) -> None:
    if item.err is not None:
        sys.stdout.flush()
        sys.stderr.write(item.err)
        sys.stderr.flush()
    if item.out is not None:
        sys.stdout.write(item.out)
        sys.stdout.flush()  # a reader at the other end (tail -f | symgrad) sees it now


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


# set in the parent just before the workers fork, so that they inherit the command's
# compute function (a closure, which could not be pickled)
_WORK: tuple[Callable[[str], Any], str, bool] | None = None


def _work(chunk: list[Line]) -> list[Answer]:
    compute, kind, debug = _WORK
    return [answer(line, compute, kind, debug) for line in chunk]


def _worker_start() -> None:
    import signal

    # Ctrl-C goes to the whole process group: the parent stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_workers(
    lines: Iterable[Line], compute: Callable[[str], Any], kind: str, jobs: int, debug: bool
) -> Iterator[Answer]:
    """Answers computed by ``jobs`` worker processes, in input order.

    Lines go out in chunks of ``JOB_LINES``; at most ``2 * jobs`` chunks are in flight, so
    memory stays bounded however long the stream is.
    """
    import multiprocessing

    global _WORK
    import symgrad.render  # noqa: F401 - loaded once here, not once per worker

    _WORK = (compute, kind, debug)
    pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_start)
    pending: deque = deque()
    try:
        for chunk in _chunks(lines, JOB_LINES):
            pending.append(pool.apply_async(_work, (chunk,)))
            while pending and (len(pending) > 2 * jobs or pending[0].ready()):
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()
        pool.close()
        pool.join()
    finally:
        pool.terminate()
        _WORK = None


def _chunks(lines: Iterable[Line], size: int) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
