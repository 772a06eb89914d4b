"""docs/beyond-gradient.md shows real commands with their real output: run each one."""

from __future__ import annotations

import doctest
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from symgrad.cli import app

DOC = Path(__file__).resolve().parent.parent / "docs" / "beyond-gradient.md"
runner = CliRunner(env={"COLUMNS": "80"})


def examples() -> list[tuple[str, str]]:
    """(command, expected output) for every '$ symgrad' line of a console block."""
    found: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), re.S):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    found.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command is not None:
            found.append((command, "\n".join(output)))
    return found


@pytest.mark.parametrize("command, expected", examples())
def test_documented_command_prints_what_the_docs_show(command, expected):
    argv = shlex.split(command)
    assert argv[0] == "symgrad"
    result = runner.invoke(app, argv[1:])
    got = "\n".join(line.rstrip() for line in result.output.rstrip("\n").splitlines())
    assert got == expected


def test_every_new_command_is_documented():
    commands = {shlex.split(c)[1] for c, _ in examples()}
    assert {"hessian", "jacobian", "diff"} <= commands


def test_python_example_runs():
    text = DOC.read_text()
    blocks = re.findall(r"```pycon\n(.*?)```", text, re.S)
    assert blocks
    parser = doctest.DocTestParser()
    for k, block in enumerate(blocks):
        test = parser.get_doctest(block, {}, f"beyond-gradient[{k}]", str(DOC), 0)
        result = doctest.DocTestRunner().run(test)
        assert result.failed == 0
