"""``--jobs N``: the lines of a stream answered in N worker processes, written in input order
as soon as each is done.

A reader thread takes lines from the input as they arrive, so a slow producer (``tail -f``)
gets each answer without waiting for a batch; at most ``WINDOW_PER_JOB * N`` lines are in
flight, so memory stays bounded however long the stream. A worker that dies (killed, out of
memory) loses nothing: the lines it may have held are answered again one at a time, and a line
that kills its worker again becomes an error record; the stream always ends.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from typing import Any

from symgrad.cli.loop import Answer, Line, Settings, answer, failed, workers
from symgrad.errors import LimitError

WINDOW_PER_JOB = 4
"""Lines in flight per worker: enough to keep each busy, few enough to answer promptly."""

# set in the parent just before the workers fork, so that they inherit the command's compute
# function (a closure, which could not be pickled)
_WORK: tuple[Callable[[str], Any], Settings] | None = None
_END = object()
ORPHAN_POLL = 0.5
"""Seconds between a worker's checks that its parent is still alive."""


def _answer(line: Line) -> Answer:
    compute, settings = _WORK
    return answer(line, compute, settings)


def _worker_start() -> None:
    import os
    import signal

    # Ctrl-C goes to the whole process group: the parent stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a parent killed outright (SIGKILL, the watchdog) cannot stop its workers, and each
    # worker holds the stream's stdout open: a reader would wait for ever. Each worker ends
    # itself once its parent is gone.
    parent = os.getppid()
    threading.Thread(target=_end_when_orphaned, args=(parent,), daemon=True).start()


def _end_when_orphaned(parent: int) -> None:
    import os
    import time

    while os.getppid() == parent:
        time.sleep(ORPHAN_POLL)
    os._exit(1)


def _pool(jobs: int) -> ProcessPoolExecutor:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_start)


def in_workers(
    lines: Iterable[Line], compute: Callable[[str], Any], settings: Settings
) -> Iterator[Answer]:
    """The answers to ``lines``, computed by worker processes, in input order."""
    global _WORK
    import symgrad.printing.json  # noqa: F401 - loaded once here, not once per worker
    import symgrad.printing.text  # noqa: F401

    jobs = workers(settings.jobs)
    window = WINDOW_PER_JOB * jobs
    _WORK = (compute, settings)
    incoming: queue.Queue = queue.Queue(maxsize=window)
    wake: queue.SimpleQueue = queue.SimpleQueue()
    reader = threading.Thread(target=_read, args=(lines, incoming, wake), daemon=True)
    reader.start()
    pool = _pool(jobs)
    pending: deque[tuple[Line, Future]] = deque()
    ended = False
    try:
        while True:
            while not ended and len(pending) < window:
                try:
                    line = incoming.get_nowait()
                except queue.Empty:
                    break
                if line is _END:
                    ended = True
                    break
                if isinstance(line, BaseException):
                    raise line
                try:
                    future = pool.submit(_answer, line)
                except BrokenProcessPool:  # a worker died while there was nothing to do
                    pool = _recover(pool, pending, settings, jobs)
                    future = pool.submit(_answer, line)
                future.add_done_callback(lambda _: wake.put(None))
                pending.append((line, future))
            if pending and pending[0][1].done():
                line, future = pending[0]
                try:
                    item = future.result()
                except BrokenProcessPool:
                    pool = _recover(pool, pending, settings, jobs)
                    continue
                pending.popleft()
                yield item
                continue
            if ended and not pending:
                pool.shutdown(wait=True)  # every worker ends before the program does
                return
            wake.get()  # a line arrived or an answer is ready
    finally:
        _stop(pool)
        _WORK = None


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the workers now: a worker left waiting for work would keep the output pipe open
    after the program has gone (``| wc -l`` would never end)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _read(lines: Iterable[Line], incoming: queue.Queue, wake: queue.SimpleQueue) -> None:
    try:
        for line in lines:
            incoming.put(line)
            wake.put(None)
    except BaseException as exc:  # noqa: BLE001 - reading failed: the main loop raises it
        incoming.put(exc)
    incoming.put(_END)
    wake.put(None)


def _recover(
    pool: ProcessPoolExecutor, pending: deque, settings: Settings, jobs: int
) -> ProcessPoolExecutor:
    """A worker died: answer each unfinished line again, alone in a fresh worker, so that a
    line that kills its worker once more is known and becomes an error record."""
    _stop(pool)
    done: deque[tuple[Line, Future]] = deque()
    for line, future in pending:
        if future.done() and not future.cancelled() and future.exception() is None:
            done.append((line, future))
            continue
        single = _pool(1)
        retry: Future = Future()
        try:
            retry.set_result(single.submit(_answer, line).result())
        except BrokenProcessPool:
            err = LimitError(
                "the worker process answering this line died twice: killed, out of memory "
                "(raise it with --max-memory), or stopped past its time (raise it with --timeout)"
            )
            retry.set_result(failed(err, line, settings, stream=True))
        finally:
            _stop(single)
        done.append((line, retry))
    pending.clear()
    pending.extend(done)
    return _pool(jobs)
