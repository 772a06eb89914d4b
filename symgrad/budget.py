"""The one deadline: every piece of work on one expression runs within its time, stack and
memory budget, and a step inside it (the checker's ``simplify``) can take a shorter one.

Work runs on a worker thread with a deep stack (sympy recurses per level of the tree) and is
stopped by raising an exception inside it when its time is up: an async exception, which works
on any thread (an interval timer only works on the main thread) and which sympy's ``except
Exception`` blocks cannot swallow.
"""

from __future__ import annotations

import contextvars
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from symgrad.errors import LimitError
from symgrad.limits import Limits, current_limits

T = TypeVar("T")


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
    timeout = limits.timeout if limits.timeout > 0 else None
    deadline = None if timeout is None else time.monotonic() + timeout
    token = _deadline.set(deadline)
    try:
        context = contextvars.copy_context()
    finally:
        _deadline.reset(token)
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
    watcher = _watcher
    if watcher is not None and timeout is not None:
        watcher(deadline, timeout)
    worker = _worker(limits)
    worker.jobs.put(job)
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
        if watcher is not None and timeout is not None:
            watcher(None, timeout)
    if "error" in outcome:
        raise _translate(outcome["error"], limits)
    return outcome["value"]  # type: ignore[return-value]


_watcher: Callable[[float | None, float], None] | None = None


def watch_deadlines(watcher: Callable[[float | None, float], None] | None) -> None:
    """Tell ``watcher(deadline, timeout)`` when each deadline starts (its ``time.monotonic``
    value) and ends (None): the CLI's watchdog process, which stops the program when a single
    operation that no exception can interrupt runs past it. None stops telling."""
    global _watcher
    _watcher = watcher


_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "symgrad_deadline", default=None
)


def remaining() -> float | None:
    """Seconds left before the deadline of the work in progress; None when there is none."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class _StepExpired(BaseException):
    """Raised inside a step run ``within`` a time of its own when that time is up."""


@contextmanager
def within(seconds: float) -> Iterator[Callable[[], bool]]:
    """Run the body for at most ``seconds``, and at most half the time the work has left.

    The body is stopped when its time is up, and the block ends quietly: the function it
    yields then says ``True`` (timed out). For a step whose result is optional, such as
    trying to prove two expressions equal:

    >>> with within(1.0) as timed_out:
    ...     value = sum(range(10))
    >>> value, timed_out()
    (45, False)
    """
    left = remaining()
    if left is not None:
        seconds = min(seconds, left / 2)
    thread = threading.current_thread()
    lock = threading.Lock()
    state = {"phase": "running", "timed_out": False}

    def fire() -> None:
        with lock:
            if state["phase"] != "running":
                return
            state["phase"] = "fired"
        _quiet_unraisable()
        _interrupt(thread, _StepExpired)

    timer = threading.Timer(max(seconds, 0.0), fire)
    timer.daemon = True
    try:
        try:
            timer.start()  # a short time can run out while the timer thread starts
        except _StepExpired:
            state["timed_out"] = True  # the body runs within the work's own deadline only
        yield lambda: state["timed_out"]
    except _StepExpired:
        state["timed_out"] = True
    finally:
        while True:  # the exception may land anywhere in here too
            try:
                with lock:
                    fired = state["phase"] == "fired"
                    state["phase"] = "done"
                timer.cancel()
                if fired and not state["timed_out"]:
                    # raised but not landed yet: let it land here, not after the block
                    for _ in range(10_000):
                        time.sleep(0.0001)
                break
            except _StepExpired:
                state["timed_out"] = True


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


def memory_floor_mb(limits: Limits) -> int | None:
    """The lowest ``--max-memory`` that can work: the address space this process already
    uses, plus the worker's stack; None where the platform does not say (not Linux)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[0])
        import resource

        used = pages * resource.getpagesize()
    except (OSError, ValueError, IndexError, ImportError):
        return None
    return -(-(used + stack_bytes(limits)) // (1 << 20))


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
