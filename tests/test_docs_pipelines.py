"""docs/pipelines.md shows real commands with their real output: run every console block."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "pipelines.md"


def console_blocks() -> list[list[tuple[str, str]]]:
    """Each ```console block as (command, expected output) pairs."""
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        steps: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        blocks.append([(cmd, "\n".join(lines)) for cmd, lines in steps])
    return blocks


def test_the_page_has_examples():
    assert len(console_blocks()) >= 10


def test_every_console_example_prints_what_the_page_shows(tmp_path):
    if shutil.which("jq") is None:
        pytest.skip("the jq recipes need jq")
    # `symgrad` of this checkout, whatever PATH says
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "symgrad"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m symgrad "$@"\n')
    wrapper.chmod(0o755)
    # as scripts/gen_docs.py runs examples: a pipe, stderr merged, no colour, 80 columns
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    env["PYTHONPATH"] = str(DOC.parent.parent)
    for block in console_blocks():
        for command, expected in block:
            proc = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=300,
            )
            lines = proc.stdout.rstrip("\n").splitlines()
            assert "\n".join(line.rstrip() for line in lines) == expected, command
