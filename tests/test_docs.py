"""The docs are part of the feature: their examples run, their tables match the code."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

from symgrad import gradient, parse
from symgrad.functions import FUNCTIONS
from symgrad.notation import expr_text

ROOT = Path(__file__).resolve().parent.parent


def test_examples_cli_reference_and_function_table_are_current():
    proc = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_function_is_in_the_syntax_page():
    text = (ROOT / "docs" / "syntax.md").read_text()
    for spec in FUNCTIONS:
        assert f"| `{spec.name}` |" in text


def test_every_command_is_in_the_cli_reference_with_an_example():
    import typer.main

    from symgrad.cli.app import app

    reference = (ROOT / "docs" / "cli.md").read_text()
    group = typer.main.get_command(app)
    for name in group.list_commands(None):
        assert f"## symgrad {name}\n" in reference
        assert "Example" in (group.get_command(None, name).help or ""), name


def test_readme_seed_table_shows_symgrads_real_answers():
    rows = re.findall(
        r"^\| `([^`]+)` \| [^|]+ \| `([^`]+)`, `([^`]+)` \| (✓|✗)",
        (ROOT / "README.md").read_text(),
        re.M,
    )
    assert len(rows) == 5
    for expr, dw, db, _ in rows:
        result = gradient(expr, "w,b")
        assert [expr_text(p) for p in result.partials] == [dw, db]
        assert [parse(dw), parse(db)] == list(result.partials)


def test_readme_shows_the_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = 'python -m pip install -e ".[test]" && python -m pytest'
    assert test_command in readme and test_command in ci
    assert 'python -m pip install . && symgrad grad "y*log(w*x+b)" --wrt w,b' in readme


PYTHON_PAGES = sorted(p for p in (ROOT / "docs").glob("*.md") if ">>>" in p.read_text())


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: p.name)
def test_python_examples_in_the_docs_run(page):
    blocks = re.findall(r"```(?:python|pycon)\n(.*?)```", page.read_text(), re.S)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tried = 0
    for k, block in enumerate(blocks):
        test = parser.get_doctest(block, {}, f"{page.name}[{k}]", str(page), 0)
        tried += len(test.examples)
        runner.run(test)
    assert tried > 0 and runner.summarize(verbose=False).failed == 0


def test_api_page_has_python_examples():
    assert ROOT / "docs" / "api.md" in PYTHON_PAGES


def test_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "site" / "cli" / "index.html").exists()
