"""docs/big-losses.md: every command in a console block prints exactly what the page shows."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from symgrad.cli import app

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "big-losses.md"


def examples() -> list[tuple[str, str]]:
    """(command, expected output) for each '$ ' line of the page's console blocks."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", PAGE.read_text(), flags=re.S):
        command, lines = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command:
                    found.append((command, "\n".join(lines)))
                command, lines = line[2:], []
            else:
                lines.append(line)
        if command:
            found.append((command, "\n".join(lines)))
    return found


@pytest.mark.parametrize("command, expected", examples())
def test_documented_command_prints_what_the_page_shows(command, expected):
    args = shlex.split(command)
    if args[0] == "symgrad":
        result = CliRunner().invoke(app, args[1:])
        assert result.exit_code == 0, result.stderr
        out = result.stdout
    else:
        assert args[0] == "python"
        proc = subprocess.run([sys.executable, *args[1:]], capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
    assert out.rstrip("\n") == expected.rstrip("\n")


def test_the_page_has_examples():
    assert len(examples()) >= 5
