"""Resource bounds: static limits checked before sympy evaluates anything, and a budget of
time, memory and stack for the work done on one expression.

sympy evaluates number literals eagerly (``10^10^10`` would try to build a 10-billion-digit
integer), so the parser asks the static bounds before it builds a node. What no static bound
can foresee (``simplify`` on a long trigonometric sum, the derivative of a deep tower) runs
under ``bounded``: on a worker thread with a deep stack, stopped when its time is up.
"""

from __future__ import annotations

import contextvars
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import TypeVar

from symgrad.errors import LimitError

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Resource bounds for one expression. Every field can be raised by a CLI option."""

    max_chars: int = 100_000
    """Length of one expression typed or piped (``--max-chars``)."""
    max_file_chars: int = 50_000_000
    """Length of one expression read with ``--file`` (``--max-file-chars``)."""
    max_tokens: int = 2_000_000
    """Numbers, names and operators in one expression (``--max-tokens``)."""
    max_depth: int = 100
    """Nesting of parentheses, function calls and power towers (``--max-depth``)."""
    max_literal_bits: int = 12_000
    """Size of any exact number, typed or computed from constants, about 3,600 digits
    (``--max-literal-bits``)."""
    max_order: int = 100
    """Order of a derivative (``--max-order``)."""
    timeout: float = 3.0
    """Seconds of work on one expression, output included; 0 for none (``--timeout``)."""
    max_memory_mb: int = 1024
    """Address space of the symgrad process in MiB, set by the CLI only; 0 for none
    (``--max-memory``)."""

    def option(self, field: str) -> str:
        """The CLI option that raises ``field``: ``max_depth`` -> ``--max-depth``."""
        return OPTIONS.get(field, "--" + field.replace("_", "-"))


DEFAULT_LIMITS = Limits()

# Python multiplies big integers in one uninterruptible call and prints them in quadratic
# time (a million bits: 7 s), so no option raises max_literal_bits past this.
MAX_LITERAL_BITS = 100_000

# field -> CLI option, where the option is not simply the field's name with dashes
OPTIONS = {"max_memory_mb": "--max-memory", "timeout": "--timeout"}

LIMIT_FIELDS = tuple(f.name for f in fields(Limits))

_current: contextvars.ContextVar[Limits] = contextvars.ContextVar(
    "symgrad_limits", default=DEFAULT_LIMITS
)


def current_limits() -> Limits:
    """The limits in force: ``DEFAULT_LIMITS`` unless inside ``applied(...)``."""
    return _current.get()


@contextmanager
def applied(limits: Limits) -> Iterator[Limits]:
    """Make ``limits`` the ones ``parse`` and ``bounded`` use when given none.

    >>> with applied(Limits(max_depth=5)):
    ...     current_limits().max_depth
    5
    """
    token = _current.set(limits)
    try:
        yield limits
    finally:
        _current.reset(token)


def check_order(order: int, limits: Limits | None = None) -> int:
    """``order`` if it is a derivative order within the limits; LimitError if it is too high."""
    limits = limits or current_limits()
    if order > limits.max_order:
        raise LimitError(
            f"derivative order {order:,} is over the limit of {limits.max_order:,} "
            "(raise it with --max-order)"
        )
    return order


# ---------------------------------------------------------------- time, stack and memory


class Expired(BaseException):
    """Raised inside the worker when its time is up.

    A BaseException, so that the ``except Exception`` blocks sympy is full of cannot swallow it.
    """


# Stack of the worker thread: sympy recurses once or more per level of the expression tree,
# in C as well as in Python, so a deep expression needs far more than the main thread's 8 MiB
# and a recursion limit far above Python's default of 1,000. The stack is address space
# only; pages that are not touched cost no memory.
FRAMES_PER_LEVEL = 100
MIN_RECURSION_LIMIT = 10_000
BYTES_PER_FRAME = 2048
MIN_STACK = 64 << 20
MAX_STACK = 1 << 30

# how long a worker that ignores its Expired (busy inside one C call) may take to stop
GRACE_SECONDS = 0.5


def recursion_limit(limits: Limits) -> int:
    """The recursion limit that lets sympy work on an expression of ``limits.max_depth``."""
    return max(MIN_RECURSION_LIMIT, FRAMES_PER_LEVEL * limits.max_depth)


def stack_bytes(limits: Limits) -> int:
    """The worker's stack size for ``recursion_limit(limits)`` frames."""
    wanted = recursion_limit(limits) * BYTES_PER_FRAME
    return min(MAX_STACK, max(MIN_STACK, wanted))


def bounded(call: Callable[[], T], limits: Limits | None = None) -> T:
    """``call()`` within the time budget of ``limits``, on a thread with a deep stack.

    Returns what ``call`` returns and raises what it raises, except that running out of time,
    stack or memory is a LimitError that names the option raising the limit.

    >>> bounded(lambda: 6 * 7)
    42
    """
    limits = limits or current_limits()
    context = contextvars.copy_context()
    outcome: dict[str, object] = {}
    done = threading.Event()

    def job() -> None:
        try:
            try:
                outcome["value"] = context.run(call)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                outcome["error"] = exc
        except Expired:  # a second Expired, landing while the first was handled
            outcome.setdefault("error", Expired())
        finally:
            done.set()

    saved = sys.getrecursionlimit()
    worker = _worker(limits)
    worker.jobs.put(job)
    timeout = limits.timeout if limits.timeout > 0 else None
    try:
        if not done.wait(timeout):
            _stop(worker, done)
            raise _expired(limits)
    except KeyboardInterrupt:
        # Ctrl-C in the waiting thread: stop the worker too, then let it propagate
        _interrupt(worker.thread, KeyboardInterrupt)
        raise
    finally:
        if done.is_set():
            sys.setrecursionlimit(saved)  # a library leaves its host's settings as it found them
    if "error" in outcome:
        raise _translate(outcome["error"], limits)
    return outcome["value"]  # type: ignore[return-value]


class _Worker:
    """A thread with a deep stack that runs one job after another.

    Starting a thread with a large stack costs milliseconds, as much as a typical derivative,
    so a stream of expressions reuses one; a worker stuck in a job that would not stop is
    left behind and a new one is made.
    """

    def __init__(self, stack: int):
        self.stack = stack
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.stuck = False
        self.thread = threading.Thread(target=self.loop, name="symgrad-worker", daemon=True)

    def loop(self) -> None:
        while True:
            try:
                self.jobs.get()()
            except Expired:  # a late Expired, for a job that had just finished: ignore it
                continue


_current_worker: _Worker | None = None


def _worker(limits: Limits) -> _Worker:
    global _current_worker
    wanted = recursion_limit(limits)
    if sys.getrecursionlimit() < wanted:
        # process-wide, but only the worker (with its deep stack) recurses this far;
        # bounded() puts it back when the job is done
        sys.setrecursionlimit(wanted)
    digits = limits.max_literal_bits * 4 // 13 + 100  # decimal digits of the largest number
    if hasattr(sys, "get_int_max_str_digits") and 0 < sys.get_int_max_str_digits() < digits:
        sys.set_int_max_str_digits(digits)  # so that printing an allowed number works
    stack = stack_bytes(limits)
    worker = _current_worker
    if worker is not None and worker.stack == stack and not worker.stuck:
        if worker.thread.is_alive():
            return worker
    worker = _Worker(stack)
    previous = threading.stack_size()
    try:
        threading.stack_size(stack)
        worker.thread.start()
    except (RuntimeError, MemoryError) as exc:
        raise LimitError(
            f"cannot reserve the {stack >> 20:,} MiB stack that --max-depth {limits.max_depth} "
            f"needs within --max-memory {limits.max_memory_mb}; raise --max-memory or lower "
            "--max-depth"
        ) from exc
    finally:
        threading.stack_size(previous)
    _current_worker = worker
    return worker


def _stop(worker: _Worker, done: threading.Event) -> None:
    """Raise Expired in the worker until its job ends, for at most GRACE_SECONDS.

    Expired can land where Python ignores exceptions (a weakref callback, ``__del__``), so it
    is raised again until one lands; a worker inside one long C call is marked stuck and left
    behind, and the caller moves on without it.
    """
    _quiet_unraisable()
    waited = 0.0
    while not done.is_set() and waited < GRACE_SECONDS:
        _interrupt(worker.thread, Expired)
        done.wait(0.02)
        waited += 0.02
    if not done.is_set():
        worker.stuck = True


def _quiet_unraisable() -> None:
    """Drop Python's report of an Expired that landed in a callback ("Exception ignored in")
    or ended a worker thread ("Exception in thread"): it did its job."""
    if not getattr(sys.unraisablehook, "symgrad", False):
        previous_unraisable = sys.unraisablehook

        def unraisable_hook(unraisable) -> None:
            if not isinstance(unraisable.exc_value, Expired):
                previous_unraisable(unraisable)

        unraisable_hook.symgrad = True  # type: ignore[attr-defined]
        sys.unraisablehook = unraisable_hook
    if not getattr(threading.excepthook, "symgrad", False):
        previous_thread = threading.excepthook

        def thread_hook(args) -> None:
            if not isinstance(args.exc_value, Expired):
                previous_thread(args)

        thread_hook.symgrad = True  # type: ignore[attr-defined]
        threading.excepthook = thread_hook


def _interrupt(worker: threading.Thread, exc_type: type[BaseException]) -> None:
    """Raise ``exc_type`` in ``worker`` at its next Python instruction."""
    import ctypes

    if worker.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(exc_type)
        )


def _expired(limits: Limits) -> LimitError:
    return LimitError(
        f"gave up after {limits.timeout:g} s, the time limit for one expression "
        "(raise it with --timeout)"
    )


def _out_of_memory(limits: Limits) -> LimitError:
    if limits.max_memory_mb:
        return LimitError(
            f"out of memory: the work needs more than {limits.max_memory_mb:,} MiB "
            "(raise it with --max-memory)"
        )
    return LimitError("out of memory: the expression is too large for this machine")


def _translate(exc: BaseException, limits: Limits) -> BaseException:
    if isinstance(exc, Expired):
        return _expired(limits)
    if isinstance(exc, RecursionError):
        return LimitError(
            f"the expression nests too deeply for this operation even within the limit of "
            f"{limits.max_depth} levels; split it up (limit max_depth)"
        )
    if isinstance(exc, MemoryError):
        return _out_of_memory(limits)
    return exc


def set_memory_ceiling(megabytes: int) -> None:
    """Cap this process's address space at ``megabytes`` MiB (0: back to the hard limit).

    For the CLI process only: a library must not change its host's limits. Allocations past
    the ceiling raise MemoryError, which ``bounded`` reports as a LimitError.
    """
    try:
        import resource
    except ImportError:  # not on Windows
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = hard if megabytes <= 0 else megabytes << 20
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (ValueError, OSError):
        pass  # a platform without RLIMIT_AS keeps its own limits

FILE_TIMEOUT = 120.0
"""Seconds for an expression read with ``--file`` when no ``--timeout`` is given: a file is big
work asked for on purpose (the 1,088-parameter loss of bench/ takes a few seconds)."""

FROM_FILE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "symgrad_from_file", default=False
)
"""True while the CLI answers an expression read with ``--file``: its length bound is then
``max_file_chars`` instead of ``max_chars``."""
