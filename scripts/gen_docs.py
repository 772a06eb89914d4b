"""Regenerate what the docs show of the code: the CLI reference, the function table, and the
output of every example.

    python scripts/gen_docs.py          # rewrite docs/cli.md, the table in docs/syntax.md, and
                                        # the output under each "$ command" in README.md and docs/
    python scripts/gen_docs.py --check  # exit 1 if any of it is out of date (tests run this)

An example is a line starting with "$ " inside a ```console block; its output is the lines after
it, up to the next "$ " line or the end of the block. It runs in bash with stdout piped (so
--format auto is text), stderr merged into stdout, NO_COLOR=1 and COLUMNS=80.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"
SYNTAX_MD = ROOT / "docs" / "syntax.md"
TABLE = re.compile(r"(<!-- functions:start -->\n).*?(<!-- functions:end -->)", re.S)

CLI_INTRO = """# CLI reference

Generated from `symgrad --help` by `scripts/gen_docs.py`; a test fails when it is out of date.
Exit codes: `0` success · `1` a check found a mismatch, or a line of a stream failed ·
`2` bad input or usage · `3` a resource limit was hit · `4` cannot be verified numerically ·
`70` internal error (please report it).
"""


def help_text(args: list[str]) -> str:
    from typer.testing import CliRunner

    from symgrad.cli.app import app

    result = CliRunner().invoke(app, [*args, "--help"], terminal_width=88)
    assert result.exit_code == 0, result.output
    return result.stdout.rstrip()


def cli_reference() -> str:
    import typer.main

    from symgrad.cli.app import app

    group = typer.main.get_command(app)
    parts = [CLI_INTRO, "## symgrad\n", "```text\n" + help_text([]) + "\n```\n"]
    for name in group.list_commands(None):
        parts.append(f"## symgrad {name}\n")
        parts.append("```text\n" + help_text([name]) + "\n```\n")
    return "\n".join(parts)


def function_table() -> str:
    from symgrad.functions import FUNCTIONS

    rows = ["| function | arguments | meaning | also written |", "|---|---|---|---|"]
    for spec in FUNCTIONS:
        aliases = ", ".join(f"`{a}`" for a in spec.aliases)
        rows.append(f"| `{spec.name}` | {spec.arity_text} | {spec.summary} | {aliases} |")
    return "\n".join(rows) + "\n"


def with_table(text: str) -> str:
    return TABLE.sub(lambda m: m.group(1) + function_table() + m.group(2), text)


CONSOLE = re.compile(r"(```console\n)(.*?)(```)", re.S)


def run_example(command: str) -> str:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "COLUMNS": "80",
        "TERM": "dumb",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    return "\n".join(line.rstrip() for line in proc.stdout.rstrip("\n").splitlines())


def with_examples(text: str) -> str:
    def block(m: re.Match) -> str:
        commands = [line[2:] for line in m.group(2).splitlines() if line.startswith("$ ")]
        body = ""
        for command in commands:
            output = run_example(command)
            body += f"$ {command}\n" + (output + "\n" if output else "")
        return m.group(1) + body + m.group(3)

    return CONSOLE.sub(block, text)


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def wanted_texts() -> dict[Path, str]:
    wanted = {CLI_MD: cli_reference()}
    for path in documents():
        if path == CLI_MD:
            continue
        text = path.read_text()
        if path == SYNTAX_MD:
            text = with_table(text)
        wanted[path] = with_examples(text)
    return wanted


# the pictures of docs/learn.md: path -> the symgrad command that draws it (-o / --plot last)
PICTURES = {
    "docs/img/sigmoid.svg": ["plot", "sigmoid(x)", "--range", "-100:100", "-o"],
    "docs/img/escape-plain.svg": [
        "descend", "x^4 - 3*x^2 + x", "--from", "x=2", "--lr", "0.01", "--plot"],
    "docs/img/escape-momentum.svg": [
        "descend", "x^4 - 3*x^2 + x", "--from", "x=2", "--lr", "0.01", "--momentum", "0.9",
        "--plot"],
    "docs/img/gradient-field.svg": [
        "plot", "x^2 + 3*y^2", "--wrt", "x,y", "--range", "-2:2", "-o"],
    "docs/img/rosenbrock-adam.svg": [
        "descend", "(1-x)^2 + 100*(y-x^2)^2", "--from", "x=-1.5,y=2", "--optimizer", "adam",
        "--plot"],
}  # fmt: skip


def draw_pictures() -> None:
    """Run each picture's command: the docs show what symgrad draws today."""
    for path, args in PICTURES.items():
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "symgrad", *args, str(ROOT / path), "--timeout", "60"],
            check=True, capture_output=True, cwd=ROOT,
        )  # fmt: skip


def missing_pictures() -> list[str]:
    """The pictures that are absent or not an SVG drawing."""
    import xml.etree.ElementTree as ET

    bad = []
    for path in PICTURES:
        try:
            root = ET.parse(ROOT / path).getroot()
        except (OSError, ET.ParseError):
            bad.append(path)
            continue
        if not root.tag.endswith("svg") or sum(1 for _ in root.iter()) < 50:
            bad.append(path)
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether docs are current")
    args = parser.parse_args()
    wanted = wanted_texts()
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python scripts/gen_docs.py")
        for path in missing_pictures():
            print(f"{path} is missing: run python scripts/gen_docs.py")
        return 1 if stale or missing_pictures() else 0
    for path in stale:
        path.write_text(wanted[path])
        print(f"wrote {path.relative_to(ROOT)}")
    draw_pictures()
    print(f"drew {len(PICTURES)} pictures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
