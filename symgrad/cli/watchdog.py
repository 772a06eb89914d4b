"""The backstop behind every time limit: a tiny parent process that ends the program when one
expression runs past its deadline by ``MARGIN`` seconds.

The deadline of ``symgrad.budget`` stops work by raising an exception inside it, which lands
between two Python instructions. One instruction can take minutes: a big-integer power inside
sympy (``(2^14999*2^14999 + 1)^(1/3)`` factors a 30,000-bit number) holds the interpreter for
its whole length, and no thread, timer or signal handler of the same process runs meanwhile.
Another process can: before doing any work, the symgrad program forks; the child does the
work and writes a few bytes to a pipe when each expression's deadline starts and ends; the
parent only reads them, and kills the child (and prints one message, exit 3) if a deadline
passes by ``MARGIN``, else exits with the child's exit code. Worker processes of ``--jobs``
report their own deadlines on the same pipe; one that overruns is killed, and ``--jobs``
answers its line as a worker that died.

Only the program does this (``symgrad.cli.app.main``), never a library call or a test runner.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

MARGIN = 0.75
"""Seconds past its deadline an expression may run before its process is killed: more than
the budget's own grace (0.5 s), so that an expression that can be stopped is stopped there."""
_POLL = 0.5  # seconds between checks that the child is still alive, when nothing is said


def guard() -> None:
    """Fork the watchdog. Returns in the child, which does the work; the parent never
    returns. Does nothing where ``fork`` is missing or fails."""
    if not hasattr(os, "fork"):
        return
    try:
        read, write = os.pipe()
    except OSError:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return
    if pid == 0:
        os.close(read)
        _report_to(write)
        return
    os.close(write)
    _watch(pid, read)


def _report_to(fd: int) -> None:
    """In the working process (and the ``--jobs`` workers it forks): tell the watchdog about
    each deadline. A few bytes per expression; if the watchdog is gone, stop telling."""
    from symgrad.budget import watch_deadlines

    def tell(deadline: float | None, timeout: float) -> None:
        if deadline is None:
            message = f"E {os.getpid()}\n"
        else:
            message = f"S {os.getpid()} {deadline!r} {timeout!r}\n"
        try:
            os.write(fd, message.encode())
        except OSError:
            watch_deadlines(None)

    watch_deadlines(tell)


def _watch(child: int, fd: int) -> None:
    """The parent: wait for the child, killing any process that overruns its deadline."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the child too: it reports

    def forward(signum, frame) -> None:
        try:
            os.kill(child, signum)
        except OSError:
            pass

    for name in ("SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), forward)
    deadlines: dict[int, tuple[float, float]] = {}  # pid -> (deadline, timeout)
    pending = b""
    open_pipe = True
    while True:
        now = time.monotonic()
        wait = _POLL
        if deadlines:
            wait = min(wait, max(0.0, min(d for d, _ in deadlines.values()) + MARGIN - now))
        if open_pipe:
            try:
                ready, _, _ = select.select([fd], [], [], wait)
            except InterruptedError:
                ready = []
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_pipe = False  # every writer is gone: the child has ended
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    _note(line, deadlines)
        else:
            time.sleep(min(wait, 0.05))
        now = time.monotonic()
        for pid, (deadline, timeout) in list(deadlines.items()):
            if now > deadline + MARGIN:
                del deadlines[pid]
                _kill(pid)
                if pid == child:
                    _overrun(child, timeout)
        try:
            done, status = os.waitpid(child, os.WNOHANG if open_pipe else 0)
        except ChildProcessError:
            os._exit(70)
        if done:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _note(line: bytes, deadlines: dict[int, tuple[float, float]]) -> None:
    parts = line.split()
    try:
        if parts[0] == b"S":
            deadlines[int(parts[1])] = (float(parts[2]), float(parts[3]))
        elif parts[0] == b"E":
            deadlines.pop(int(parts[1]), None)
    except (IndexError, ValueError):
        pass  # not a message of ours


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _overrun(child: int, timeout: float) -> None:
    """The working process is killed: say so once and end with the limit's exit code."""
    try:
        os.waitpid(child, 0)
    except ChildProcessError:
        pass
    message = (
        f"symgrad: limit error: gave up after {timeout:g} s, the time limit for one expression "
        "(raise it with --timeout); the work was inside one operation that cannot be "
        "interrupted, so the program was stopped\n"
    )
    try:
        os.write(2, message.encode())
    except OSError:
        pass
    os._exit(3)
