"""Files of expressions answered on a Dask cluster: what ``symgrad batch IN... --out DIR`` runs.

Each input file is cut into partitions of consecutive lines. A partition is one Dask task that
calls ``batch`` on its lines and hands its JSON Lines back; the client writes it to one file of
DIR, under a name that says which lines of which file it answers and a hash of their text,
the command and its options, first to a temporary name and then renamed. So a file under its
final name is complete, and a re-run with the same DIR skips it. A task only computes (the
client does all the writing), so when a worker dies and Dask runs its tasks again elsewhere,
each partition is still written once.

Dask is imported inside functions only, and only on the way of ``symgrad batch``: neither
``symgrad --help`` nor any other command loads it.

>>> partition_size(20_000), partition_size(3_000), partition_size(40)
(500, 188, 100)
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from symgrad.cli.loop import batch
from symgrad.errors import InputError, SymgradError
from symgrad.limits import LIMIT_FIELDS
from symgrad.notation import counted

PARTITION_LINES = 500
"""Lines of a file per partition: about 1.5 s of work at 3 ms a line, long next to Dask's
per-task cost (about 1 ms), short enough that the last tasks of a run keep every worker busy."""
MIN_PARTITION_LINES = 100
MIN_PARTITIONS = 16
"""A file under ``MIN_PARTITIONS * PARTITION_LINES`` lines is cut finer, so that a small
input still keeps every worker of a small cluster busy."""
IN_FLIGHT_PER_THREAD = 4
"""Partitions submitted but not yet written, per worker thread: enough that no worker waits
for the client, few enough that memory stays bounded however large the input."""
KEY_VERSION = 1
"""Raised when the meaning of an output file changes: older outputs are then not complete."""
PIECES = 8
"""A task that kills its workers is cut into this many, to find the line that does it in
few more deaths: log8 of the partition's lines (3 for 500)."""
LOCAL_SCHEDULER = {"distributed.scheduler.worker-saturation": 1.0}
"""Scheduler settings of a local cluster (docs/at-scale.md gives them for a real one)."""
CONNECT_SECONDS = 20
AGAIN = "-again"
"""How long to try to reach a scheduler at ``--scheduler``."""

INSTALL_HINT = 'symgrad batch runs on Dask, which is not installed: pip install "symgrad[dask]"'


class ClusterError(SymgradError):
    """The cluster could not run the batch: no scheduler at the address, or its workers
    cannot run symgrad (not installed, another version)."""

    kind = "cluster"
    exit_code = 2


class WorkerFailure(ClusterError):
    """A task raised on a worker: a bug, since ``batch`` never raises for a line."""

    exit_code = 70


# ---------------------------------------------------------------- the input, in partitions


def partition_size(lines: int) -> int:
    """Lines per partition of a file of ``lines`` lines (blank ones included).

    It depends on the file only, never on the cluster, so a re-run on another cluster finds
    the same partitions; a file of 8,000 lines or more has partitions of PARTITION_LINES.
    """
    return max(MIN_PARTITION_LINES, min(PARTITION_LINES, -(-lines // MIN_PARTITIONS)))


def input_files(patterns: Iterable[str]) -> list[str]:
    """The files that paths and globs (``data/*.txt``, ``**/*.txt``) name, in a stable order.

    A pattern that matches no file is an error: a typo must not pass for an empty input.
    """
    found: dict[str, None] = {}
    for pattern in patterns:
        if pattern == "-":
            raise InputError(
                "symgrad batch reads files, not stdin (it must read them again to resume); "
                "for stdin use: symgrad grad - --format json"
            )
        if glob.has_magic(pattern):
            matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
            if not matches:
                raise InputError(f"no file matches {pattern!r}")
        elif os.path.isdir(pattern):
            raise InputError(
                f"{pattern} is a directory: give files, or a glob like {pattern}/*.txt"
            )
        elif not os.path.isfile(pattern):
            raise InputError(f"no file {pattern!r}")
        else:
            matches = [pattern]
        found.update(dict.fromkeys(matches))
    if not found:
        raise InputError("give at least one input file")
    return list(found)


def count_lines(path: str) -> int:
    """Lines of a file, the last one counted whether or not it ends with a newline."""
    count, last = 0, b"\n"
    with _open(path) as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _open(path: str):
    try:
        return open(path, "rb")
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from None


@dataclass(frozen=True)
class Partition:
    """Lines ``first``..``last`` of ``file``; ``count`` of them are expressions.

    ``key`` hashes what the output depends on: the file's name (records carry it), the text of
    the lines, the command, its options and the symgrad version.
    """

    file: str
    first: int
    last: int
    count: int
    key: str

    @property
    def name(self) -> str:
        """The output file's name: ``train.txt.000000001-000000500.3f9a0c1d2e4b5a69.jsonl``."""
        return f"{_stem(self.file)}.{self.first:09d}-{self.last:09d}.{self.key}.jsonl"


_UNSAFE = re.compile(r"[^\w.+-]+")
_OUTPUT = re.compile(r"(?P<stem>.+)\.(?P<first>\d{9,})-(?P<last>\d{9,})\.[0-9a-f]{16}\.jsonl\Z")
_TEMPORARY = re.compile(r"\..+\.\d{9,}-\d{9,}\.[0-9a-f]{16}\.jsonl\.\d+\.tmp\Z")


def _stem(path: str) -> str:
    """A file name made from an input path: ``data/train.txt`` -> ``data_train.txt``."""
    stem = _UNSAFE.sub("_", os.path.normpath(path))[-80:].strip("_.")
    return stem or "input"  # never hidden: cat DIR/*.jsonl must see it


def _options_digest(command: str, options: Mapping[str, Any]) -> bytes:
    from symgrad import __version__

    header = [KEY_VERSION, __version__, command, sorted(options.items())]
    return json.dumps(header, default=str).encode()


def read_partitions(
    path: str, command: str, options: Mapping[str, Any], limits: Any
) -> Iterator[tuple[Partition, list]]:
    """Each partition of the file at ``path`` with its expression lines (``loop.Line``).

    Lines are read as ``symgrad grad -`` reads stdin (loop.read_lines: blank lines and
    comments skipped, CRLF, a byte order mark, an over-long or non-UTF-8 line as a problem),
    one at a time: memory holds one partition, whatever the size of the file.
    """
    from symgrad.cli.loop import read_lines

    total = count_lines(path)
    size = partition_size(total)
    digest = _options_digest(command, options)
    with _open(path) as handle:
        current, lines = -1, []
        for line in read_lines(handle, limits):
            index = (line.number - 1) // size
            if index != current and lines:
                yield _partition(path, current, size, total, lines, digest), lines
                lines = []
            current = index
            lines.append(line)
        if lines:
            yield _partition(path, current, size, total, lines, digest), lines


def _partition(path: str, index: int, size: int, total: int, lines: list, digest: bytes):
    first = index * size + 1
    last = min(first + size - 1, total)
    h = hashlib.sha256(digest)
    h.update(json.dumps([path, first, last]).encode())
    for line in lines:
        h.update(json.dumps([line.number, line.text, line.problem]).encode())
    return Partition(path, first, last, len(lines), h.hexdigest()[:16])


# ---------------------------------------------------------------- one task


@dataclass(frozen=True)
class Task:
    """What a worker answers: expression lines of one partition, or of a piece of one.

    ``lines`` are ``(number, text, problem)``, as ``loop.Line``. The task is a pure function
    of these fields, so Dask may run it twice (a worker lost) without harm.
    """

    file: str
    lines: tuple[tuple[int, str, Any], ...]
    command: str
    options: tuple[tuple[str, Any], ...]
    version: str
    key: str


@dataclass(frozen=True)
class Answered:
    """What a task gives back: its JSON Lines, and what the summary counts."""

    text: bytes
    errors: dict[str, int]
    not_ok: int  # records with "ok": false (a check that found a mismatch)


def answer_task(task: Task) -> Answered:
    """Answer a task's lines with ``batch``: one JSON record per line, with ``file``.

    Runs on a Dask worker. A line that ``loop.read_lines`` could not read as text (over-long,
    not UTF-8) is an error record made here, exactly as the stream makes it.
    """
    _prepare_worker()
    from symgrad import __version__
    from symgrad.printing.json import json_line

    if task.version != __version__:
        raise ClusterError(
            f"this worker runs symgrad {__version__}, the client {task.version}: install "
            f"symgrad=={task.version} on every worker"
        )
    first = task.lines[0][0]
    texts = [""] * (task.lines[-1][0] - first + 1)  # blank: skipped by batch, but counted
    for number, text, problem in task.lines:
        if problem is None:
            texts[number - first] = text
    records = batch(texts, task.command, first_line=first, **dict(task.options))
    out, errors, not_ok = [], Counter(), 0
    for number, text, problem in task.lines:
        if problem is None:
            record = next(records, None)
            if record is None or record.get("line") != number:
                raise RuntimeError(f"batch gave no record for line {number} of {task.file}")
        else:
            kind, message, column = problem
            record = _error_record(text, number, kind, message, column)
        if "error" in record:
            errors[record["error"]["kind"]] += 1
        elif record.get("ok") is False:
            not_ok += 1
        out.append(json_line({"file": task.file, **record}) + "\n")
    if next(records, None) is not None:
        raise RuntimeError(f"batch gave more records than lines for {task.file}")
    return Answered("".join(out).encode(), dict(errors), not_ok)


_prepared = False


def _prepare_worker() -> None:
    """Once in each worker process, before its first line."""
    global _prepared
    if _prepared:
        return
    _prepared = True
    # sympy's cache: 20,000 entries make a stream ~15% faster (bench/throughput.py); it is
    # read when sympy is first imported, so this is its one chance on a fresh worker
    os.environ.setdefault("SYMPY_CACHE_SIZE", "20000")
    if "distributed" in sys.modules:  # a Dask worker
        from distributed.gc import disable_gc_diagnosis

        # Dask times each full collection with a gc callback, for its logs only. Once (in a
        # 20,000-line run under load) its timer was left started, so that each later
        # collection printed a traceback on stderr; most likely the exception with which
        # the time limit stops a line landed inside the callback
        disable_gc_diagnosis(force=True)


def _error_record(text: str, number: int, kind: str, message: str, column: Any) -> dict:
    """The stream's error record of a line (loop.failed makes it the same way)."""
    from symgrad.errors import LimitError
    from symgrad.printing.json import error_record, with_line

    error = {"limit": LimitError, "input": InputError}[kind](message, column=column)
    return with_line(error_record(error, text), number)


def _died_record(task: Task) -> Answered:
    """The record of a single line whose worker died every time it answered it."""
    from symgrad.printing.json import json_line

    number, text, _ = task.lines[0]
    message = (
        "a worker died each time it answered this line (out of memory, most likely); "
        f"try the line alone with symgrad {task.command}, whose --max-memory stops it cleanly"
    )
    record = {"file": task.file, **_error_record(text, number, "limit", message, None)}
    return Answered((json_line(record) + "\n").encode(), {"limit": 1}, 0)


# ---------------------------------------------------------------- the output directory


def tally(path: Path) -> tuple[int, Counter, int] | None:
    """Records, error kinds and not-ok records of an output file; None if it is unreadable
    or its last line is cut off."""
    errors, not_ok, count = Counter(), 0, 0
    try:
        with open(path, "rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    return None
                count += 1
                # a key of a record: inside a JSON string these quotes would be escaped
                if b'"error": {"kind": ' in raw:
                    errors[json.loads(raw)["error"]["kind"]] += 1
                elif b'"ok": false' in raw:
                    not_ok += json.loads(raw).get("ok") is False
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return count, errors, not_ok


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    tmp = directory / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())  # on disk before the name says "complete"
    os.replace(tmp, directory / name)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One run at a time writes to a directory."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as with any tool writing there
        yield
        return
    with open(directory / ".symgrad-batch.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputError(
                f"another symgrad batch is writing to {directory}: wait for it, or give "
                "another --out"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stale(directory: Path, files: list[str], current: set[str]) -> list[Path]:
    """Output files of these input files that this run does not produce: the answers to an
    older version of the file or to other options. Left in place, ``cat DIR/*.jsonl`` would
    give those lines twice."""
    stems = {_stem(f): f for f in files}
    stale = []
    for path in directory.iterdir():
        match = _OUTPUT.match(path.name)
        if not match or path.name in current or match["stem"] not in stems:
            if _TEMPORARY.match(path.name):
                stale.append(path)  # cut off by a crash before its rename
            continue
        try:
            with open(path, "rb") as handle:
                head = handle.readline()
            owner = json.loads(head)["file"] if head else stems[match["stem"]]
        except (OSError, ValueError, KeyError, TypeError):
            owner = stems[match["stem"]]  # unreadable: not a complete answer to anything
        if owner == stems[match["stem"]]:
            stale.append(path)
    return stale


# ---------------------------------------------------------------- the run


@dataclass
class BatchReport:
    """What a run did; ``exit_code`` is a stream's: 1 when any line failed, else 0."""

    out: str
    files: int = 0
    lines: int = 0  # expression lines of all the input: records in DIR now
    answered: int = 0  # of which answered in this run
    partitions: int = 0
    skipped: int = 0  # partitions complete before this run
    removed: int = 0  # stale output files removed
    errors: Counter = field(default_factory=Counter)  # error records by kind
    not_ok: int = 0
    threads: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values()) + self.not_ok

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


Progress = Callable[[int, int], None]
"""Called with (lines answered, lines to answer in this run) as partitions complete."""


def require_dask() -> None:
    """Import Dask's distributed scheduler, or say how to install it (exit 2)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError(INSTALL_HINT) from None


def check_options(command: str, options: Mapping[str, Any]) -> None:
    """Raise now, not on every worker, for an unknown command or a bad option value."""
    records = batch(["# nothing"], command, **options)
    next(iter(records), None)


def run_batch(
    inputs: Iterable[str],
    out: str | os.PathLike,
    command: str = "grad",
    options: Mapping[str, Any] | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    on_progress: Progress | None = None,
) -> BatchReport:
    """Answer every expression line of ``inputs`` (paths or globs) into JSON Lines files in
    ``out``, one per partition, on the Dask scheduler at ``scheduler`` or on a local cluster
    of ``workers`` processes (default: one per CPU) started for the run.

    Partitions already complete in ``out`` are skipped; output files of the same inputs that
    this run does not produce (older text, other options) are removed.
    """
    started = time.monotonic()
    require_dask()
    if scheduler is not None and workers is not None:
        raise InputError(
            "give --scheduler (a running cluster) or --workers (a local one), not both"
        )
    if workers is not None and workers < 1:
        raise InputError("--workers: give a number of worker processes, 1 or more")
    run = _Run(input_files(inputs), Path(out), command, dict(options or {}))
    check_options(command, run.options)
    try:
        run.directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot make --out {out}: {err.strerror or err}") from None
    with _locked(run.directory):
        todo = run.plan()
        if todo:
            total = sum(p.count for p in todo)
            with _client(scheduler, workers) as client:
                run.report.threads = sum(client.nthreads().values())
                run.answer(client, todo, lambda done: on_progress and on_progress(done, total))
    run.report.seconds = time.monotonic() - started
    return run.report


@dataclass
class _Run:
    """One run of ``run_batch``: its input, output directory, command and options."""

    files: list[str]
    directory: Path
    command: str
    options: dict[str, Any]
    report: BatchReport = field(init=False)

    def __post_init__(self) -> None:
        from symgrad.limits import Limits

        self.limits = Limits(**{k: v for k, v in self.options.items() if k in LIMIT_FIELDS})
        self.report = BatchReport(out=str(self.directory), files=len(self.files))

    def partitions(self) -> Iterator[tuple[Partition, list]]:
        for path in self.files:
            yield from read_partitions(path, self.command, self.options, self.limits)

    def plan(self) -> list[Partition]:
        """Every partition of the input; the incomplete ones are returned, the complete ones
        counted into the report; stale output files are removed."""
        todo, current, report = [], set(), self.report
        for part, _ in self.partitions():
            current.add(part.name)
            report.partitions += 1
            report.lines += part.count
            done = tally(self.directory / part.name)
            if done is not None and done[0] == part.count:
                report.skipped += 1
                report.errors.update(done[1])
                report.not_ok += done[2]
            else:
                todo.append(part)
        for path in _stale(self.directory, self.files, current):
            path.unlink(missing_ok=True)
            report.removed += not path.name.endswith(".tmp")
        return todo

    def tasks(self, todo: list[Partition]) -> Iterator[tuple[Partition, Task]]:
        """The tasks of the partitions in ``todo``, their lines read again, one at a time."""
        from symgrad import __version__

        wanted = {(p.file, p.first): p for p in todo}
        items = tuple(sorted(self.options.items()))
        fed = 0
        for part, lines in self.partitions():
            planned = wanted.get((part.file, part.first))
            if planned is None:
                continue
            if planned != part:
                raise InputError(f"{part.file} changed during the run: run the command again")
            rows = tuple((ln.number, ln.text, ln.problem) for ln in lines)
            fed += 1
            yield part, Task(part.file, rows, self.command, items, __version__, part.key)
        if fed != len(wanted):
            raise InputError("an input file changed during the run: run the command again")

    def answer(self, client: Any, todo: list[Partition], progress: Callable[[int], Any]):
        """Submit the partitions of ``todo``, a window at a time; write each as it completes.

        A task whose workers died ``allowed-failures`` times (KilledWorker: it kills workers,
        by memory most likely) is cut into PIECES and those answered instead, down to the
        one line that does it, which gets an error record.
        """
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        report = self.report
        running = as_completed()
        pending: dict[Any, tuple[Partition, Task]] = {}
        pieces: dict[str, dict[int, Answered | None]] = {}  # key -> first line -> answer

        def submit(part: Partition, task: Task) -> None:
            future = client.submit(answer_task, task, key=f"symgrad-{task.key}", pure=False)
            pending[future] = (part, task)
            pieces.setdefault(part.key, {})[task.lines[0][0]] = None
            running.add(future)

        source = self.tasks(todo)
        for part, task in _take(source, max(8, IN_FLIGHT_PER_THREAD * max(1, report.threads))):
            submit(part, task)
        done = 0
        for future in running:
            part, task = pending.pop(future)
            try:
                answered = future.result()
            except KilledWorker:
                if len(task.lines) > 1:
                    del pieces[part.key][task.lines[0][0]]
                    for piece in _pieces(task):
                        submit(part, piece)
                    continue
                if not task.key.endswith(AGAIN):
                    # once more: it may only have shared a dying worker with the line that
                    # killed it (a task on its way to a worker dies with it, too)
                    submit(part, replace(task, key=task.key + AGAIN))
                    continue
                answered = _died_record(task)
            except SymgradError:
                raise
            except Exception as exc:  # noqa: BLE001 - the worker's own failure, said plainly
                raise _worker_failure(exc) from None
            mine = pieces[part.key]
            mine[task.lines[0][0]] = answered
            if any(a is None for a in mine.values()):
                continue
            answers = [mine[k] for k in sorted(pieces.pop(part.key))]
            _write_atomically(self.directory, part.name, b"".join(a.text for a in answers))
            for a in answers:
                report.errors.update(a.errors)
                report.not_ok += a.not_ok
            report.answered += part.count
            done += part.count
            progress(done)
            for part, task in _take(source, 1):
                submit(part, task)
        if pieces:
            raise RuntimeError(f"{len(pieces)} partitions were never completed")


@contextmanager
def _client(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """A Dask client of the cluster at ``scheduler``, or of a local cluster for the run."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError) as err:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler}: {err}; start one with "
                "'dask scheduler' and workers with 'dask worker ADDRESS', or use --workers N "
                "for a cluster on this machine"
            ) from None
        with client:
            yield client
        return
    # a worker holds only the task it runs (no queue of its own): when it dies, only that
    # task is suspected, and a line that kills workers is found without blaming its neighbours
    with dask.config.set(LOCAL_SCHEDULER):
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,  # symgrad is pure Python: processes, not threads, run in parallel
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # loopback only, any free port
            silence_logs=logging.CRITICAL,  # a dying worker is handled, not news for stderr
        )
    with cluster, Client(cluster) as client:
        yield client


def _take(source: Iterator, n: int) -> list:
    out = []
    for item in source:
        out.append(item)
        if len(out) == n:
            break
    return out


def _pieces(task: Task) -> list[Task]:
    """A task cut into up to PIECES tasks of consecutive lines."""
    n = len(task.lines)
    bounds = [n * k // PIECES for k in range(PIECES + 1)]
    pieces = [task.lines[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
    return [
        Task(task.file, rows, task.command, task.options, task.version, f"{task.key}-{rows[0][0]}")
        for rows in pieces
    ]


def _worker_failure(exc: BaseException) -> SymgradError:
    if isinstance(exc, (ModuleNotFoundError, ImportError)):
        return ClusterError(
            f"a worker cannot import symgrad ({exc}): install symgrad on every worker "
            '(pip install "symgrad[dask]")'
        )
    return WorkerFailure(
        f"a task failed on a worker: {type(exc).__name__}: {exc}; complete partitions are "
        "kept, so the same command resumes; if it fails again, please report it"
    )


# ---------------------------------------------------------------- the command line


def run_command(
    ctx: click.Context,
    inputs: list[str],
    out: str,
    command: str,
    scheduler: str | None,
    workers: int | None,
) -> int:
    """``symgrad batch``: the run, a progress bar on a terminal, a summary on stderr."""
    from symgrad.cli.batch_command import command_options

    options = command_options(ctx, command)
    with terminal_progress() as progress:
        report = run_batch(
            inputs,
            out,
            command,
            options,
            scheduler=scheduler,
            workers=workers,
            on_progress=progress,
        )
    sys.stderr.write(summary(report) + "\n")
    sys.stderr.flush()
    return report.exit_code


# ---------------------------------------------------------------- the terminal side


def _rate(per_second: float) -> str:
    """``1,234`` lines a second; below 10, two significant digits (0.26, not 0)."""
    return f"{per_second:,.0f}" if per_second >= 10 else f"{per_second:.2g}"


def summary(report: BatchReport) -> str:
    """The lines written to stderr at the end of a run."""
    n = report.answered
    rate = f", {_rate(n / report.seconds)} lines/s" if n and report.seconds > 0 else ""
    on = f" on {counted(report.threads, 'worker')}" if report.threads else ""
    lines = [
        f"symgrad batch: {counted(report.lines, 'line')} from {counted(report.files, 'file')}, "
        f"{n:,} answered in {report.seconds:.1f} s{rate}{on}",
        f"  {counted(report.partitions, 'partition file')} in {report.out}"
        + (f" ({report.skipped:,} complete before this run)" if report.skipped else "")
        + (f"; {report.removed:,} stale removed" if report.removed else ""),
    ]
    if report.errors:
        kinds = ", ".join(f"{k} {c:,}" for k, c in report.errors.most_common())
        lines.append(f"  failed lines: {sum(report.errors.values()):,} ({kinds})")
    if report.not_ok:
        lines.append(f"  checks that found a mismatch: {report.not_ok:,}")
    return "\n".join(lines)


@contextmanager
def terminal_progress(stream: Any = None) -> Iterator[Progress | None]:
    """A progress bar (lines, rate, time left) on ``stream`` (stderr) if it is a terminal."""
    stream = sys.stderr if stream is None else stream
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.0f} lines/s" if task.speed else "- lines/s")

    columns = (
        TextColumn("answering"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        Rate(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(file=stream), transient=True) as bar:
        task = bar.add_task("lines", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
