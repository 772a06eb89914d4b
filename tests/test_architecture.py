"""The layers of docs/architecture.md, kept: imports point one way (cli -> printing -> library),
inside the library parsing -> derive -> numeric, and no two modules import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symgrad"

# a module may import modules of its own rank or lower, never higher
RANKS = {
    "errors": 0,
    "limits": 1,
    "budget": 2,
    "functions": 2,
    "notation": 3,
    "results": 3,
    "parsing": 4,
    "derive": 5,
    "numeric": 6,
    "printing": 7,
    "cli": 8,
}


# A result may call, on demand (an import inside the method), the verb that carries it
# further: Gradient.at(w=1, x=2) is numeric.evaluate.gradient_at(g, ...). Never at the top of
# the module: importing results stays as light as the layer it is in.
ON_DEMAND = {("symgrad.results", "symgrad.numeric.evaluate")}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The symgrad modules ``path`` imports (lazy imports inside functions too)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("symgrad"):
            found.add(node.module)
            found.update(
                f"{node.module}.{a.name}"
                for a in node.names
                if (PACKAGE.parent / f"{node.module}.{a.name}".replace(".", "/")).exists()
            )
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("symgrad"))
    return found


def rank(module: str) -> int | None:
    parts = module.split(".")
    return RANKS.get(parts[1]) if len(parts) > 1 else None


MODULES = sorted(
    p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py" and p != PACKAGE / "__init__.py"
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_point_down_the_layers(path):
    me = module_name(path)
    mine = rank(me)
    assert mine is not None, f"{me} belongs to no layer: add it to RANKS and the docs"
    top = imports(path, top_level_only=True)
    for other in imports(path):
        if (me, other) in ON_DEMAND and other not in top:
            continue
        theirs = rank(other)
        if theirs is not None:
            assert theirs <= mine, f"{me} imports {other}, a layer above it"


def test_no_two_modules_import_each_other():
    graph = {module_name(p): imports(p, top_level_only=True) for p in MODULES}
    for me, mine in graph.items():
        for other in mine:
            assert me not in graph.get(other, set()), f"{me} and {other} import each other"


def test_the_library_never_prints():
    library = [p for p in MODULES if rank(module_name(p)) < RANKS["printing"]]
    for path in library:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                raise AssertionError(f"{module_name(path)} calls print()")
