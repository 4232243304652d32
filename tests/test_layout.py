"""The package's house rules, read from the source: import floors, module size, no import side effects."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tlworkbench"

# Each top-level part of the package stands on a floor; a module may import parts on lower floors
# and its own part, never a part on its floor or above (imports inside functions count too).
FLOORS = {
    "errors": 0,
    "_validate": 1,
    "config": 2,
    "plots": 3,
    "zoo": 3,
    "data": 4,  # data sets resize and normalise through a model's transforms
    "evaluation": 4,
    "freezing": 4,
    "features": 5,
    "training": 6,
    "diagnostics": 6,
    "widgets": 6,
    "adaptation": 7,
    "unsupervised": 7,
    "few_shot": 7,
    "text": 7,
    "speech": 7,
    "saving": 7,
    "distributed": 7,
    "sources": 7,
    "selection": 8,
    "comparison": 8,
    "experiments": 9,
    "exercises": 9,
    "cli": 9,
    "__init__": 10,
}
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imported_parts(path: Path, root: Path = PACKAGE) -> set[str]:
    """Top-level parts of the package that ``path`` imports, relative or absolute."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = path.relative_to(root.parent).parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            if target[:1] != ["tlworkbench"]:
                continue
            if len(target) > 1:
                found.add(target[1])
            else:  # from tlworkbench import x, y
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "tlworkbench" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_every_part_has_a_floor():
    parts = {_part(p) for p in _modules()} - {"py"}
    assert parts <= set(FLOORS), f"parts without a floor: {sorted(parts - set(FLOORS))}"


def test_imports_follow_the_floors():
    wrong = []
    for path in _modules():
        part = _part(path)
        for imported in _imported_parts(path):
            if imported == part or imported not in FLOORS:
                continue
            if FLOORS[imported] >= FLOORS[part]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)} imports {imported} "
                             f"(floor {FLOORS[imported]} >= {FLOORS[part]})")
    assert not wrong, "\n".join(wrong)


def test_the_floor_reader_sees_relative_and_function_level_imports(tmp_path):
    fake = tmp_path / "tlworkbench" / "zoo" / "probe.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from ..training import fit\nfrom . import model\n\n"
                    "def f():\n    from tlworkbench.plots import plot_history\n")
    assert _imported_parts(fake, root=tmp_path / "tlworkbench") == {"training", "plots", "zoo"}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {n} lines; split it by responsibility"


def test_import_loads_no_heavy_optional_modules():
    code = (
        "import sys, tlworkbench as tlw\n"
        "heavy = [m for m in ('transformers', 'sentence_transformers', 'tlworkbench.experiments')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
