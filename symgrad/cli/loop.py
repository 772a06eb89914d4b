"""The one run loop: every command answers its input here, one expression or a stream alike.

A command turns its options into a function from the text of one expression to a result; this
module reads the input (EXPR, each line of stdin for '-', or ``--file``), calls that function
for each expression within the command's limits (``symgrad.budget``), renders each result
(``symgrad.printing``) and writes it as soon as it is ready. Every failure of a line becomes an
error record or one stderr line, never an exception; one expression is a stream of one.

``batch`` is the same loop as a plain function: what a Dask, Spark or Ray map calls.

Nothing heavy is imported at module level: ``symgrad --help`` imports this module.
"""

from __future__ import annotations

import contextvars
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO

from symgrad.errors import InputError, LimitError, OutputError, SymgradError
from symgrad.limits import FILE_TIMEOUT, FROM_FILE, Limits, applied

SKIP_CHUNK = 1 << 16
"""Bytes read at a time while skipping the rest of an over-long line."""
SHOWN_CHARS = 100
"""Characters of an over-long line kept as its record's ``input``."""

Compute = Callable[[str], Any]


@dataclass(frozen=True)
class Settings:
    """What every expression command shares: how to read, how to print, the limits."""

    fmt: str = "text"  # pretty, text, json or latex (auto is resolved before)
    latex: bool = False
    file: str | None = None
    jobs: int = 1
    limits: Limits = field(default_factory=Limits)
    width: int = 80
    color: bool = False
    debug: bool = False
    owns_process: bool = False
    """Only the symgrad program caps its own memory; a library leaves its host's limits."""


_settings: contextvars.ContextVar[Settings] = contextvars.ContextVar(
    "symgrad_settings",
    default=Settings(),  # noqa: B039 - frozen, never mutated
)


def read(text: str):
    """Parse the text of one expression as the running command's settings say (``--latex``)."""
    from symgrad.parsing import parse_input

    return parse_input(text, latex=_settings.get().latex)


# ---------------------------------------------------------------- input lines


@dataclass(frozen=True)
class Line:
    """One expression of the input; ``problem`` is (kind, message, column) when the line could
    not even be read as text (too long, not UTF-8)."""

    number: int
    text: str
    problem: tuple[str, str, int | None] | None = None


def _is_expression(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and not stripped.startswith("#")


def text_lines(lines: Iterable[str], first_line: int = 1) -> Iterator[Line]:
    """The expression lines among ``lines`` (blank lines and ``#`` comments are counted but
    skipped), numbered from ``first_line``."""
    for number, text in enumerate(lines, first_line):
        text = text.rstrip("\r\n")
        if _is_expression(text):
            yield Line(number, text)


def read_lines(stream: BinaryIO, limits: Limits) -> Iterator[Line]:
    """The expression lines of a byte stream, as they arrive.

    CRLF and a byte order mark are accepted. Memory stays bounded whatever the input: a line
    longer than ``limits.max_chars`` is skipped in chunks and comes out as a limit problem, a
    line that is not UTF-8 as an input problem.
    """
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
                f"expression is {size:,} bytes, over the limit of {limits.max_chars:,} "
                "characters (raise it with --max-chars, or read a large expression with --file)"
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
            continue  # a comment need not be UTF-8
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            column = len(body[: err.start].decode("utf-8", "replace")) + 1
            message = f"the line is not UTF-8 text (byte 0x{body[err.start]:02x})"
            yield Line(number, body.decode("utf-8", "replace"), ("input", message, column))
            continue
        if _is_expression(text):
            yield Line(number, text)


def _skip_line(stream: BinaryIO) -> int:
    """Read up to the end of the current line in bounded chunks; return the bytes skipped,
    the line end (LF or CR LF) left out."""
    skipped = 0
    while True:
        chunk = stream.readline(SKIP_CHUNK)
        skipped += len(chunk.rstrip(b"\r\n"))
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def stdin_bytes() -> BinaryIO:
    """stdin as bytes, through a file object of its own where it has a descriptor.

    ``--jobs`` forks worker processes while a thread waits for the next line, and a worker
    closes ``sys.stdin`` as it starts (multiprocessing does): on the shared file object it would
    wait for ever on the lock the reading thread holds.
    """
    stdin = sys.stdin
    if stdin is None:
        raise InputError("stdin is closed; give EXPR or --file PATH instead of '-'")
    try:
        descriptor = stdin.fileno()
    except (AttributeError, OSError, ValueError):  # a test's stdin, in memory
        return getattr(stdin, "buffer", stdin)
    try:
        return os.fdopen(os.dup(descriptor), "rb")
    except OSError:
        return getattr(stdin, "buffer", stdin)


def read_file(path: str, limits: Limits) -> str:
    """One expression from a file (``-``: all of stdin), at most ``limits.max_file_chars`` long.

    Newlines in the file are whitespace, so a long expression may be wrapped over lines.
    """
    cap = 4 * limits.max_file_chars  # UTF-8 takes at most 4 bytes a character
    try:
        if path == "-":
            data = _read_capped(stdin_bytes(), cap + 1)
        else:
            with open(path, "rb") as handle:
                data = _read_capped(handle, cap + 1)
    except OSError as err:
        raise InputError(f"cannot read --file {path}: {err.strerror or err}") from None
    too_long = LimitError(
        f"--file {path} is over the limit of {limits.max_file_chars:,} characters "
        "(raise it with --max-file-chars)"
    )
    if len(data) > cap:
        raise too_long
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
        raise too_long
    return text


FILE_CHUNK = 1 << 20
"""Bytes read from a --file at a time: memory grows with what is there, not with the limit,
and the deadline can stop the reading between two chunks (/dev/zero never ends)."""


def _read_capped(stream: BinaryIO, most: int) -> bytearray:
    data = bytearray()
    while len(data) < most:
        chunk = stream.read(min(FILE_CHUNK, most - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _file_position(err: SymgradError, text: str, path: str) -> None:
    """An error's column as a line and column of the file it points into."""
    if err.column and "\n" in text[: err.column - 1]:
        before = text[: err.column - 1]
        line = before.count("\n") + 1
        column = len(before) - before.rfind("\n")
        err.message = f"{err.message} (line {line}, column {column} of {path})"
        err.column = None


# ---------------------------------------------------------------- answering a line


@dataclass(frozen=True)
class Answer:
    """What one expression gives: output for stdout or a line for stderr, and a status."""

    out: str | None
    err: str | None
    code: int  # 0, the result's exit code, or the error's


class InternalError(SymgradError):
    """A bug in symgrad: the one exit code no input should ever give."""

    kind = "internal"
    exit_code = 70


_PROBLEMS = {"limit": LimitError, "input": InputError}


def as_error(exc: BaseException, debug: bool = False) -> SymgradError:
    """What the user is told about ``exc``: the one place an exception becomes an error.

    Exceptions that are not symgrad's own are resource limits (recursion, memory) or bugs.
    """
    if isinstance(exc, SymgradError):
        return exc
    if isinstance(exc, RecursionError):
        return LimitError("expression too deeply nested for this operation; split it up")
    if isinstance(exc, MemoryError):
        return LimitError(
            "out of memory; the expression is too large (raise the limit with --max-memory)"
        )
    if debug or os.environ.get("SYMGRAD_DEBUG"):  # the traceback, and still exit 70
        traceback.print_exception(exc, file=sys.stderr)
    return InternalError(
        f"{type(exc).__name__}: {exc}; please report it with the input, or rerun with --debug "
        "for the traceback"
    )


def answer(line: Line, compute: Compute, settings: Settings, stream: bool = True) -> Answer:
    """Compute and render one expression within the limits; a failure becomes an error record
    (JSON) or a stderr line, never an exception (but KeyboardInterrupt)."""
    from symgrad.budget import bounded

    try:
        if line.problem is not None:
            problem, message, column = line.problem
            raise _PROBLEMS[problem](message, column=column)

        def work() -> tuple[Any, str]:
            result = compute(line.text)
            return result, output(result, settings, line.text, line.number if stream else None)

        result, out = bounded(work, settings.limits)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - one bad line never takes the stream down
        if settings.file is not None and isinstance(exc, SymgradError):
            _file_position(exc, line.text, settings.file)
        return failed(as_error(exc, settings.debug), line, settings, stream)
    return Answer(out, None, getattr(result, "exit_code", 0))


def failed(err: SymgradError, line: Line, settings: Settings, stream: bool) -> Answer:
    """The answer for an expression that failed: a JSON error record in a JSON stream, else
    one line for stderr (with the input and a caret under the column on a terminal)."""
    from symgrad.printing.messages import error_caret, error_line

    code = 1 if stream else err.exit_code
    if stream and settings.fmt == "json":
        from symgrad.printing.json import error_record, json_line, with_line

        text = line.text  # a line past the length limit is quoted by its start only
        if len(text) > settings.limits.max_chars:
            text = text[:SHOWN_CHARS] + "..."
        return Answer(json_line(with_line(error_record(err, text), line.number)) + "\n", None, code)
    message = error_line(err, line.number if stream else None) + "\n"
    caret = error_caret(err) if settings.color and not stream else None
    return Answer(None, message + (caret + "\n" if caret else ""), code)


def output(result: Any, settings: Settings, source: str | None, line: int | None) -> str:
    """A result rendered as one record, ending with a newline.

    A JSON record is one line (with ``line`` in a stream). A text or LaTeX record takes
    several lines; in a stream each ends with a blank line, so records stay apart (``awk -v
    RS= ...`` reads one at a time). Runs within the expression's time budget: sympy's printers
    are part of the work.
    """
    from symgrad.printing import render

    fmt = settings.fmt
    if fmt == "json":
        from symgrad.printing.json import json_line, with_line

        record = render(result, "json", source=source)
        records = record if isinstance(record, list) else [record]  # descend: one per step
        return "".join(json_line(r if line is None else with_line(r, line)) + "\n" for r in records)
    if fmt == "pretty":
        from symgrad.printing.pretty import terminal

        blocks = render(result, "pretty", width=settings.width)
        return terminal(blocks, settings.width, color=settings.color)
    text = "\n".join(render(result, fmt)) + "\n"
    return text + "\n" if line is not None else text


# ---------------------------------------------------------------- the loop


def run(expr: str | None, compute: Compute, settings: Settings) -> int:
    """Answer EXPR, each line of stdin when EXPR is '-', or the expression of ``--file``;
    write each answer as it is ready. Returns the exit code: the result's (or the error's) for
    one expression; for a stream, 1 when any line failed or gave a non-zero code, else 0.
    """
    from symgrad.budget import set_memory_ceiling

    if settings.owns_process:
        _require_memory(settings.limits)
        set_memory_ceiling(settings.limits.max_memory_mb)  # before anything is read
    token = _settings.set(settings)
    try:
        with applied(settings.limits):
            if settings.file is not None:
                return _run_file(compute, settings)
            if expr == "-":
                lines = read_lines(stdin_bytes(), settings.limits)
                return write_all(answers(lines, compute, settings), stream=True)
            return write_all(iter([answer(Line(1, expr), compute, settings, False)]), False)
    finally:
        _settings.reset(token)


def _require_memory(limits: Limits) -> None:
    """Refuse a ``--max-memory`` below what the process already uses: past it nothing at all
    could run, and the failure would come from wherever the next allocation happens."""
    from symgrad.budget import memory_floor_mb

    wanted = limits.max_memory_mb
    floor = memory_floor_mb(limits) if wanted else None
    if floor is not None and wanted < floor:
        raise InputError(
            f"--max-memory {wanted} is below the {floor} MiB symgrad needs to start (its "
            f"code and the worker's stack for --max-depth {limits.max_depth}): give at least "
            f"--max-memory {floor}, or 0 for no limit"
        )


def _run_file(compute: Compute, settings: Settings) -> int:
    """One (possibly very large) expression from a file: unless ``--timeout`` was given, its
    time budget is ``FILE_TIMEOUT``, and its length bound ``max_file_chars``."""
    from symgrad.budget import bounded

    try:
        text = bounded(lambda: read_file(settings.file, settings.limits), settings.limits)
    except BaseException as exc:  # noqa: BLE001 - reported like the expression's own errors
        if isinstance(exc, KeyboardInterrupt):
            raise
        item = failed(as_error(exc, settings.debug), Line(1, ""), settings, False)
        return write_all(iter([item]), False)
    token = FROM_FILE.set(True)
    try:
        return write_all(iter([answer(Line(1, text), compute, settings, False)]), False)
    finally:
        FROM_FILE.reset(token)


def write_all(items: Iterator[Answer], stream: bool) -> int:
    """Write every answer as it comes; the exit code of the whole run."""
    status = 0
    try:
        for item in items:
            _write(item)
            status = (status or int(item.code != 0)) if stream else item.code
    except BrokenPipeError:
        # the reader went away (| head -1): it has all it wanted, so stop quietly
        silence_stdout()
    except OSError as err:  # a full disk, a closed descriptor
        silence_stdout()
        raise OutputError(f"cannot write the output: {err.strerror or err}") from None
    finally:
        if hasattr(items, "close"):
            items.close()  # stops worker processes now
    return status


def _write(item: Answer) -> None:
    if item.err is not None:
        sys.stdout.flush()
        sys.stderr.write(item.err)
        sys.stderr.flush()
    if item.out is not None:
        sys.stdout.write(item.out)
        sys.stdout.flush()  # a reader at the other end (tail -f | symgrad) sees it now


def silence_stdout() -> None:
    """Point stdout at devnull: its reader went away (``| head -1``) or it was closed, and the
    interpreter's final flush must not print a BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
    except OSError:
        pass
    try:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    except OSError:
        pass


def answers(lines: Iterable[Line], compute: Compute, settings: Settings) -> Iterator[Answer]:
    """The answer to every line, in input order: here, or in ``settings.jobs`` processes."""
    if settings.jobs > 1 and settings.fmt != "pretty" and _can_fork():
        from symgrad.cli.jobs import in_workers

        return in_workers(lines, compute, settings)
    return (answer(line, compute, settings) for line in lines)


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


# ---------------------------------------------------------------- the loop as a function


def batch(
    lines: Iterable[str], command: str = "grad", *, first_line: int = 1, **options: Any
) -> Iterator[dict]:
    """The records ``symgrad COMMAND - --format json`` prints for ``lines``, as dicts.

    ``lines`` are raw input lines (blank lines and ``#`` comments are skipped but counted),
    ``first_line`` the number of the first; ``options`` are the command's options by their
    Python names (``wrt="w,b"``, ``at="w=1,x=2"``, ``cse=True``), ``latex`` and the limits
    (``timeout=3.0``, ``max_chars=...``). A failed line is an error record; nothing is raised
    for a bad line. Picklable: a Dask, Spark or Ray map can call it.

    >>> [r["gradient"] for r in batch(["x^2", "# a comment", "sin(x)*y"], wrt="x")]
    [['2*x'], ['y*cos(x)']]
    """
    import json

    from symgrad.cli.app import compute_for

    compute, settings = compute_for(command, options)
    settings = replace(settings, fmt="json")
    # each line runs in a context of its own: a generator must not leave its settings in its
    # caller's context between two yields (two batches may be read in turns)
    context = contextvars.copy_context()
    context.run(_enter, settings)
    for line in text_lines(lines, first_line):
        yield json.loads(context.run(answer, line, compute, settings).out)


def _enter(settings: Settings) -> None:
    _settings.set(settings)
    applied(settings.limits).__enter__()  # left entered: the context is the batch's own


def file_limits(limits: Limits, timeout_given: bool) -> Limits:
    """The limits of an expression read with ``--file``: big work asked for on purpose gets
    ``FILE_TIMEOUT`` unless ``--timeout`` was given."""
    return limits if timeout_given else replace(limits, timeout=FILE_TIMEOUT)


MAX_JOBS_PER_CPU = 4
"""--jobs above this many processes per CPU would only cost memory: the work is CPU-bound
(--jobs 100000 started processes until the machine ran out of memory)."""


def workers(jobs: int) -> int:
    """``--jobs 0`` is one process per CPU; at most ``MAX_JOBS_PER_CPU`` per CPU."""
    cpus = os.cpu_count() or 1
    return min(jobs, MAX_JOBS_PER_CPU * cpus) if jobs else cpus
