"""symgrad batch on Dask: records equal the stream's, a killed worker loses nothing, resume.

One local cluster of 2 worker processes serves the module (starting one costs a second or
two); the tests reach it by its scheduler address, as a real cluster is reached. A test that
kills workers, or needs another configuration, starts its own.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from symgrad.cli import cluster  # noqa: E402
from symgrad.cli.cluster import (  # noqa: E402
    BatchReport,
    ClusterError,
    answer_task,
    partition_size,
    read_partitions,
    run_batch,
    summary,
    tally,
    terminal_progress,
)
from symgrad.cli.loop import read_lines  # noqa: E402
from symgrad.errors import InputError  # noqa: E402
from symgrad.limits import Limits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

GOOD = [
    "{a}*w*x + {b}*b",
    "(y - ({a}*x*w + b))^2",
    "y*log(w*x + {a})",
    "sigmoid({a}*x + b)",
    "tanh(w*x + b)^{p}",
    "exp(w)*x + exp({a}*b)",
    "relu(w*x - {a})",
    "softplus(x*y) + {a}*x^{p}",
    "sqrt(x^2 + {a})",
    "abs(x - {a})*sin(y)",
    "log(sigmoid(w*x)) + {a}",
    "x^{p}*y^{q}/({a} + z^2)",
    "θ^{p} - {a}*φ",
]
BAD = [
    "{a}*x +",
    "foo(x)",
    "x[0]",
    "__import__('os')",
    "(x + {a}",
    "x ;y",
    "a.b",
    "x(1 + y)",
    "(" * 150 + "x" + ")" * 150,  # over --max-depth: a limit error
    "1/",
]


def corpus(n: int, seed: int = 14) -> bytes:
    """``n`` expression lines, 10% of them bad, with blank lines and comments between, and
    one line of each kind the reader itself rejects (not UTF-8; over the length limit)."""
    rng = random.Random(seed)
    out = [b"# a corpus for tests/test_cluster.py"]
    for k in range(n):
        template = rng.choice(BAD if k % 10 == 7 else GOOD)
        values = {"a": rng.randint(1, 9), "b": rng.randint(1, 9), "p": rng.randint(2, 4)}
        out.append(template.format(q=rng.randint(2, 3), **values).encode())
        if rng.random() < 0.03:
            out.append(rng.choice([b"", b"   ", b"# a comment"]))
    out[n // 3] = b"caf\xe9 * x"  # latin-1: not UTF-8
    out[n // 2] = b"x + " * 100_001  # over 4 * max_chars bytes: skipped by the reader
    return b"\n".join(out) + b"\n"


def stream_records(path: Path, *options: str) -> list[dict]:
    """What ``symgrad grad - --format json`` prints for the file, one dict per line."""
    proc = subprocess.run(
        [sys.executable, "-m", "symgrad", "grad", "-", "--format", "json", "--jobs", "2"]
        + list(options),
        stdin=path.open("rb"),
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    numbers = [ln.number for ln in read_lines(path.open("rb"), Limits())]
    assert len(records) == len(numbers)
    assert [r["line"] for r in records] == numbers
    return records


def output_records(directory: Path) -> list[dict]:
    """Every record in the partition files of ``directory``, in file name order."""
    records = []
    for path in sorted(directory.glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


def without_file(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "file"} for r in records]


@pytest.fixture(scope="module")
def local_cluster():
    import logging

    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set(cluster.LOCAL_SCHEDULER),  # as run_batch's own local cluster
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # loopback only, any free port
            silence_logs=logging.CRITICAL,
        ) as lc,
        Client(lc) as client,
    ):
        yield lc.scheduler_address, client


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """2,000 lines (10% bad) and what the stream answers for them."""
    path = tmp_path_factory.mktemp("big") / "exprs.txt"
    path.write_bytes(corpus(2000))
    return path, stream_records(path)


# ---------------------------------------------------------------- the cluster


def test_a_cluster_of_two_answers_as_the_stream_does(local_cluster, big, tmp_path):
    address, _ = local_cluster
    path, expected = big
    report = run_batch([str(path)], tmp_path / "out", scheduler=address)
    got = output_records(tmp_path / "out")
    assert {r["file"] for r in got} == {str(path)}
    assert without_file(got) == expected
    errors = Counter(r["error"]["kind"] for r in expected if "error" in r)
    assert errors.keys() == {"parse", "limit", "input"}
    assert (report.lines, report.answered, report.skipped) == (len(expected), len(expected), 0)
    assert report.errors == errors and report.exit_code == 1 and report.threads == 2
    assert report.partitions == len(list((tmp_path / "out").glob("*.jsonl"))) > 2


def test_a_worker_killed_mid_run_loses_no_line(local_cluster, big, tmp_path):
    address, client = local_cluster
    path, expected = big
    # its first 800 lines: the stream's records for them are those of the whole file
    head = tmp_path / "head.txt"
    head.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:800]))
    expected = [r for r in expected if r["line"] <= 800]
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one(done: int, total: int) -> None:
        if not killed and done < total:  # partitions are still in flight on both workers
            os.kill(pids[0], signal.SIGKILL)
            killed.append(done)

    report = run_batch([str(head)], tmp_path / "out", scheduler=address, on_progress=kill_one)
    assert killed, "the run ended before the kill"
    assert without_file(output_records(tmp_path / "out")) == expected
    assert report.answered == len(expected)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the next tests
    assert pids[0] not in client.run(os.getpid).values()


def poison_answer(task):
    """answer_task, except that a line ``POISON`` kills its worker process."""
    if any(text == "POISON" for _, text, _ in task.lines):
        os._exit(1)
    return answer_task(task)


def test_a_line_that_kills_its_worker_every_time_is_one_error_record(tmp_path, monkeypatch):
    import logging

    import dask
    from distributed import LocalCluster

    lines = [f"x^{k}" for k in range(1, 17)]
    lines[10] = "POISON"  # in a piece of 2 of the 8 pieces of 16: 3 worker deaths
    (tmp_path / "p.txt").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(cluster, "answer_task", poison_answer)
    # a task is given up after its first worker death, so the test takes seconds
    with (
        dask.config.set({**cluster.LOCAL_SCHEDULER, "distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # loopback only, any free port
            silence_logs=logging.CRITICAL,
        ) as lc,
    ):
        report = run_batch(
            [str(tmp_path / "p.txt")], tmp_path / "out", scheduler=lc.scheduler_address
        )
    got = output_records(tmp_path / "out")
    assert [r["line"] for r in got] == list(range(1, 17))
    assert [r["line"] for r in got if "error" in r] == [11]
    assert got[10]["error"]["kind"] == "limit" and "died" in got[10]["error"]["message"]
    assert got[11]["gradient"] == ["12*x**11"]
    assert report.errors == {"limit": 1} and report.exit_code == 1


# ---------------------------------------------------------------- the command line


def invoke(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from symgrad.cli.app import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_symgrad_batch_writes_records_and_a_summary(local_cluster, big, tmp_path):
    address, _ = local_cluster
    path, expected = big
    code, out, err = invoke(
        "batch", str(path), "--out", str(tmp_path / "o"), "--scheduler", address
    )
    assert (code, out) == (1, "")
    assert err.startswith(f"symgrad batch: {len(expected):,} lines from 1 file, ")
    assert "failed lines: " in err and "(parse " in err
    got = output_records(tmp_path / "o")
    assert without_file(got) == expected
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "symgrad" / "schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for record in got[:300]:
        validator.validate(record)


def test_the_options_of_the_command_pass_through(local_cluster, tmp_path):
    address, _ = local_cluster
    (tmp_path / "in.txt").write_text("x^2\nx^3\n")
    args = ["batch", str(tmp_path / "in.txt"), "-o", str(tmp_path / "o"), "--scheduler", address]
    code, _, err = invoke(*args, "--command", "check", "--claim", "2*x", "--points", "5")
    assert code == 1 and "checks that found a mismatch: 1" in err
    assert [r["ok"] for r in output_records(tmp_path / "o")] == [True, False]
    code, _, _ = invoke(*args, "--wrt", "x", "--timeout", "5")  # --wrt's value is no input file
    assert code == 0
    assert [r["gradient"] for r in output_records(tmp_path / "o")] == [["2*x"], ["3*x**2"]]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["in.txt", "-o", "o", "--command", "functions"],
            "'functions' does not answer expressions",
        ),
        (["in.txt", "-o", "o", "--format", "json"], "--format does not apply"),
        (["in.txt", "-o", "o", "--jobs", "2"], "--jobs does not apply"),
        (["in.txt"], "Missing option '--out'"),
        (["-o", "o"], "Missing argument 'IN...'"),
        (["in.txt", "-o", "o", "--workers", "0"], "0 is not in the range x>=1"),
        (["in.txt", "-o", "o", "--timeout", "-1"], "-1.0 is not in the range 0<=x<=1000000.0"),
        (["nothing.txt", "-o", "o"], "input error: no file 'nothing.txt'"),
    ],
)
def test_usage_errors_say_what_to_do(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    small_input(tmp_path / "in.txt", 3)
    code, out, err = invoke("batch", *args)
    assert (code, out) == (2, "")
    assert message in err and err.startswith("symgrad: ") and err.count("\n") == 1


# ---------------------------------------------------------------- resume


def small_input(path: Path, n: int = 300) -> None:
    path.write_text("".join(f"{k + 1}*x^2 + y\n" for k in range(n)))


def names_and_stamps(directory: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(directory.glob("*.jsonl"))}


def test_a_second_run_skips_complete_partitions_and_redoes_the_rest(local_cluster, tmp_path):
    address, _ = local_cluster
    src, out = tmp_path / "in.txt", tmp_path / "out"
    small_input(src)  # 300 lines: 3 partitions of 100
    first = run_batch([str(src)], out, scheduler=address)
    assert (first.partitions, first.answered, first.skipped) == (3, 300, 0)
    written = names_and_stamps(out)

    again = run_batch([str(src)], out, scheduler=address)
    assert (again.answered, again.skipped, again.exit_code) == (0, 3, 0)
    assert names_and_stamps(out) == written  # not even rewritten

    # a file cut off mid-record, a file gone, and a temporary file left by a crash
    a, b, c = sorted(out.glob("*.jsonl"))
    a.write_bytes(a.read_bytes()[:-30])
    b.unlink()
    (out / f".{c.name}.123.tmp").write_text("{")
    redo = run_batch([str(src)], out, scheduler=address)
    assert (redo.answered, redo.skipped, redo.removed) == (200, 1, 0)
    assert {p.name for p in out.iterdir()} == {*written, ".symgrad-batch.lock"}
    assert [r["line"] for r in output_records(out)] == list(range(1, 301))


def test_a_changed_line_or_option_is_not_complete(local_cluster, tmp_path):
    address, _ = local_cluster
    src, out = tmp_path / "in.txt", tmp_path / "out"
    small_input(src)
    run_batch([str(src)], out, scheduler=address)
    before = names_and_stamps(out)

    lines = src.read_text().splitlines()
    lines[150] = "sin(x)"
    src.write_text("\n".join(lines) + "\n")
    changed = run_batch([str(src)], out, scheduler=address)
    assert (changed.answered, changed.skipped, changed.removed) == (100, 2, 1)
    after = names_and_stamps(out)
    assert len(after) == 3 and len(set(after) & set(before)) == 2
    assert output_records(out)[150]["gradient"] == ["cos(x)"]

    other = run_batch([str(src)], out, options={"wrt": "x"}, scheduler=address)
    assert (other.answered, other.skipped, other.removed) == (300, 0, 3)
    assert {tuple(r["wrt"]) for r in output_records(out)} == {("x",)}


def test_two_files_and_a_glob(local_cluster, tmp_path):
    address, _ = local_cluster
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("x^2\n\nfoo(\n")
    (tmp_path / "in" / "b.txt").write_text("# only\ny^3\n")
    report = run_batch([str(tmp_path / "in" / "*.txt")], tmp_path / "out", scheduler=address)
    got = [
        (Path(r["file"]).name, r["line"], "error" in r) for r in output_records(tmp_path / "out")
    ]
    assert got == [("a.txt", 1, False), ("a.txt", 3, True), ("b.txt", 2, False)]
    assert (report.files, report.lines, report.errors) == (2, 3, {"parse": 1})


def test_a_local_cluster_started_for_the_run(tmp_path):
    small_input(tmp_path / "in.txt", 20)
    report = run_batch(
        [str(tmp_path / "in.txt")], tmp_path / "out", options={"wrt": "x"}, workers=1
    )
    assert report.threads == 1 and report.answered == 20
    assert [r["gradient"] for r in output_records(tmp_path / "out")][:2] == [["2*x"], ["4*x"]]


# ---------------------------------------------------------------- bad input and usage


@pytest.mark.parametrize(
    "inputs, options, where, message",
    [
        (["nothing-*.txt"], {}, {}, "no file matches 'nothing-*.txt'"),
        (["missing.txt"], {}, {}, "no file 'missing.txt'"),
        (["."], {}, {}, ". is a directory"),
        (["-"], {}, {}, "reads files, not stdin"),
        (["in.txt"], {"at": "x=1", "cse": True}, {}, "not both"),
        (["in.txt"], {"colour": "red"}, {}, "grad has no option 'colour'"),
        (["in.txt"], {}, {"workers": 0}, "1 or more"),
        (["in.txt"], {}, {"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "not both"),
    ],
)
def test_bad_input_is_an_input_error_before_any_cluster(
    tmp_path, monkeypatch, inputs, options, where, message
):
    monkeypatch.chdir(tmp_path)
    small_input(tmp_path / "in.txt", 3)
    with pytest.raises(InputError) as caught:
        run_batch(inputs, tmp_path / "out", options=options, **where)
    assert message in caught.value.message and caught.value.exit_code == 2


def test_an_unknown_command_is_an_input_error(tmp_path):
    small_input(tmp_path / "in.txt", 3)
    with pytest.raises(InputError, match="unknown command 'gradient'"):
        run_batch([str(tmp_path / "in.txt")], tmp_path / "out", "gradient")


def test_no_scheduler_at_the_address_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    small_input(tmp_path / "in.txt", 3)
    with pytest.raises(ClusterError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_batch([str(tmp_path / "in.txt")], tmp_path / "out", scheduler="tcp://127.0.0.1:9")


def test_one_run_at_a_time_per_directory(tmp_path):
    import fcntl

    small_input(tmp_path / "in.txt", 3)
    (tmp_path / "out").mkdir()
    with open(tmp_path / "out" / ".symgrad-batch.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another symgrad batch is writing to"):
            run_batch([str(tmp_path / "in.txt")], tmp_path / "out", workers=1)


def test_without_dask_one_message_says_how_to_install_it(tmp_path):
    small_input(tmp_path / "in.txt", 3)
    code = textwrap.dedent(
        f"""
        import sys

        class NoDask:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("dask", "distributed"):
                    raise ImportError(f"No module named {{name!r}}")

        sys.meta_path.insert(0, NoDask())
        sys.argv = ["symgrad", "batch", {str(tmp_path / "in.txt")!r}, "-o", {str(tmp_path / "o")!r}]
        from symgrad.cli.app import main
        main()
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        "symgrad: input error: symgrad batch runs on Dask, which is not installed: "
        'pip install "symgrad[dask]"\n'
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args", [["--help"], ["grad", "x^2"], ["grad", "-"]])
def test_other_commands_import_no_dask(args):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "symgrad", *args],
        input="x^2\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines()}
    assert "symgrad" in imported and not imported & {"dask", "distributed"}


# ---------------------------------------------------------------- partitions and files


@pytest.mark.parametrize(
    "lines, size",
    [(1, 100), (1_600, 100), (1_601, 101), (3_000, 188), (8_000, 500), (10_000_000, 500)],
)
def test_partition_size_depends_on_the_file_only(lines, size):
    assert partition_size(lines) == size


def partitions_of(path: Path, command="grad", options=None):
    return [p for p, _ in read_partitions(str(path), command, options or {}, Limits())]


def test_partitions_are_line_ranges_with_their_expression_count(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("".join("# comment\n" if k % 4 == 0 else f"x^{k}\n" for k in range(250)))
    parts = partitions_of(src)
    assert [(p.first, p.last, p.count) for p in parts] == [
        (1, 100, 75),
        (101, 200, 75),
        (201, 250, 37),
    ]
    assert parts[0].name == f"{cluster._stem(str(src))}.000000001-000000100.{parts[0].key}.jsonl"


def test_a_partition_key_changes_with_what_its_records_depend_on(tmp_path):
    src = tmp_path / "in.txt"
    small_input(src, 250)
    base = [p.key for p in partitions_of(src)]
    assert [p.key for p in partitions_of(src)] == base  # stable
    assert [p.key for p in partitions_of(src, options={"wrt": "x"})][0] != base[0]
    assert [p.key for p in partitions_of(src, command="hessian")][0] != base[0]
    copy = tmp_path / "copy.txt"
    copy.write_bytes(src.read_bytes())
    assert partitions_of(copy)[0].key != base[0]  # records carry the file's name
    lines = src.read_text().splitlines()
    lines[120] = "x^9"
    src.write_text("\n".join(lines) + "\n")
    changed = [p.key for p in partitions_of(src)]
    assert [a == b for a, b in zip(changed, base)] == [True, False, True]


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", (0, {}, 0)),
        (b'{"input": "x", "line": 1}\n', (1, {}, 0)),
        (
            b'{"input": "x", "line": 1}\n{"input": "(", "error": {"kind": "parse"}}\n',
            (2, {"parse": 1}, 0),
        ),
        (b'{"input": "x", "ok": false}\n{"input": "\\"ok\\": false"}\n', (2, {}, 1)),
        (b'{"input": "x", "line": 1}\n{"input": "y", "li', None),  # cut off
    ],
)
def test_tally_counts_records_and_rejects_a_cut_off_file(tmp_path, data, expected):
    (tmp_path / "f.jsonl").write_bytes(data)
    assert tally(tmp_path / "f.jsonl") == expected


@pytest.mark.parametrize(
    "path, stem",
    [
        ("train.txt", "train.txt"),
        ("data/train.txt", "data_train.txt"),
        ("./a b.txt", "a_b.txt"),
        ("/x/y", "x_y"),
        ("/" + "d" * 90 + "/.hidden", "d" * 72 + "_.hidden"),
        ("...", "input"),
    ],
)
def test_output_names_come_from_the_input_path(path, stem):
    assert cluster._stem(path) == stem


# ---------------------------------------------------------------- the task and batch


def test_a_task_answers_its_lines_with_file_and_line(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"x^2\n\n\xff\nfoo(\ny\n")
    ((part, lines),) = read_partitions(str(src), "grad", {}, Limits())
    rows = tuple((ln.number, ln.text, ln.problem) for ln in lines)
    task = cluster.Task(str(src), rows, "grad", (), __import__("symgrad").__version__, part.key)
    answered = pickle.loads(pickle.dumps(answer_task))(task)
    records = [json.loads(line) for line in answered.text.decode().splitlines()]
    assert [(r["file"], r["line"]) for r in records] == [(str(src), n) for n in (1, 3, 4, 5)]
    assert records[1]["error"]["kind"] == "input" and answered.errors == {"input": 1, "parse": 1}


def test_a_task_for_another_symgrad_version_fails_with_a_message():
    task = cluster.Task("f", ((1, "x", None),), "grad", (), "0.0.0", "k")
    with pytest.raises(ClusterError, match="install symgrad==0.0.0 on every worker"):
        answer_task(task)


def test_batch_numbers_lines_and_never_raises_for_a_bad_one():
    from symgrad import batch

    got = list(batch(["x^2\n", "# c", "", "x +", "y\r\n"], first_line=10))
    assert [(r["line"], "error" in r) for r in got] == [(10, False), (13, True), (14, False)]
    assert pickle.loads(pickle.dumps(batch)) is batch


# ---------------------------------------------------------------- what the terminal shows


@pytest.mark.parametrize(
    "report, expected",
    [
        (
            BatchReport("out", files=1, lines=3, answered=3, partitions=1, threads=2, seconds=2.0),
            "symgrad batch: 3 lines from 1 file, 3 answered in 2.0 s, 1.5 lines/s on 2 workers\n"
            "  1 partition file in out",
        ),
        (
            BatchReport(
                "o",
                files=2,
                lines=20,
                partitions=4,
                skipped=4,
                removed=1,
                errors=Counter(parse=2, limit=1),
                not_ok=1,
                seconds=0.5,
            ),
            "symgrad batch: 20 lines from 2 files, 0 answered in 0.5 s\n"
            "  4 partition files in o (4 complete before this run); 1 stale removed\n"
            "  failed lines: 3 (parse 2, limit 1)\n"
            "  checks that found a mismatch: 1",
        ),
        (
            BatchReport("o", files=1, lines=2, answered=2, partitions=1, threads=1, seconds=7.6),
            "symgrad batch: 2 lines from 1 file, 2 answered in 7.6 s, 0.26 lines/s on 1 worker\n"
            "  1 partition file in o",
        ),
    ],
)
def test_summary(report, expected):
    assert summary(report) == expected


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_only_on_a_terminal():
    with terminal_progress(io.StringIO()) as update:
        assert update is None
    screen = Terminal()
    with terminal_progress(screen) as update:
        update(50, 100)
        update(100, 100)
    assert "lines" in screen.getvalue()
