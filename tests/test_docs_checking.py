"""docs/checking.md shows real commands with their real output: run them and compare."""

from __future__ import annotations

import doctest
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from symgrad.cli import app

PAGE = Path(__file__).resolve().parent.parent / "docs" / "checking.md"


def console_examples(text: str) -> list[tuple[str, str]]:
    """(command line, expected stdout) for each '$ ' line of each ```console block."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    examples.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command:
            examples.append((command, "\n".join(output)))
    return examples


EXAMPLES = console_examples(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_examples():
    assert len(EXAMPLES) >= 8
    assert any("--claim" in command for command, _ in EXAMPLES)


@pytest.mark.parametrize("command, expected", EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_console_example_prints_what_the_page_shows(command, expected):
    args = shlex.split(command)
    assert args[0] == "symgrad"
    result = CliRunner().invoke(app, args[1:])
    assert result.stdout.rstrip("\n") == expected
    assert result.exit_code in (0, 1, 4) and result.stderr == ""


def test_python_examples_run():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(PAGE.read_text(encoding="utf-8"), {}, PAGE.name, str(PAGE), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
