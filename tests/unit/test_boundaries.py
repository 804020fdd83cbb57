"""The folders are the design: the analysis side imports no Docker and nothing of the measuring side
or the orchestrators; the measuring side and the orchestrators import no matplotlib and nothing of
the analysis side. Checked twice: importing every module of a side in a fresh interpreter (what
it pulls in, transitively), and reading every import statement of it (those inside functions too)."""
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import voltools

PACKAGE = Path(voltools.__file__).parent
ROOT = PACKAGE.parent
# side -> what none of its modules may import (top-level names and voltools sub-packages)
FORBIDDEN = {
    "analysis": ("docker", "kubernetes", "voltools.measuring", "voltools.orchestrators"),
    "measuring": ("matplotlib", "voltools.analysis", "voltools.orchestrators"),
    "orchestrators": ("matplotlib", "voltools.analysis"),
}


def _modules(side):
    return [f"voltools.{side}.{info.name}" for info in pkgutil.iter_modules([str(PACKAGE / side)])]


def _hits(names, forbidden):
    return sorted(name for name in names for bad in forbidden if name == bad or name.startswith(bad + "."))


@pytest.mark.parametrize("side", sorted(FORBIDDEN))
def test_importing_a_side_pulls_in_nothing_it_must_not(side):
    modules = _modules(side)
    assert len(modules) >= 3, f"voltools.{side} has modules"
    code = (f"import sys\nfor name in {modules!r}: __import__(name)\n"
            f"print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = out.stdout.split()
    assert f"voltools.{side}" in loaded
    assert _hits(loaded, FORBIDDEN[side]) == []


def _imports(path, module):
    """Every module an import statement of `path` (the module `module`) names, absolute."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("side", sorted(FORBIDDEN))
def test_no_import_statement_of_a_side_crosses_its_boundary(side):
    found = {}
    for path in sorted((PACKAGE / side).glob("*.py")):
        module = f"voltools.{side}.{path.stem}"
        found[path.name] = _hits(set(_imports(path, module)), FORBIDDEN[side])
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_check_sees_a_lazy_import(tmp_path):
    """A crossing inside a function counts: the reader of statements is not fooled by laziness."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ..measuring.engine import connect\n    import matplotlib.pyplot\n")
    names = set(_imports(module, "voltools.analysis.m"))
    assert _hits(names, FORBIDDEN["analysis"]) == ["voltools.measuring.engine", "voltools.measuring.engine.connect"]
    assert _hits(names, FORBIDDEN["measuring"]) == ["matplotlib.pyplot"]


def test_importing_voltools_imports_no_docker():
    code = "import sys, voltools; print(voltools.__version__); assert 'docker' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
