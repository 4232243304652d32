"""environment.yml and pyproject.toml describe the same environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("text", "speech", "export", "cluster", "notebooks", "browser", "test"):
        wanted |= {_name(r) for r in project["optional-dependencies"][extra]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            found |= {_name(r) for r in dep["pip"] if not r.startswith("-e")}
        elif not dep.startswith(("python", "pip")):
            found.add(_name(dep))
    assert found == wanted, f"only in environment.yml: {found - wanted}; only in pyproject: {wanted - found}"


def _constraints() -> dict[str, str]:
    """The pins that apply to this interpreter (a line may carry an environment marker)."""
    from packaging.requirements import Requirement

    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("  #")[0].strip()
        if line and not line.startswith("#"):
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate():
                (spec,) = req.specifier
                assert spec.operator == "==", line
                pins[_name(req.name)] = spec.version
    return pins


def test_constraints_pin_one_version_of_each_package_for_this_python():
    assert len(_constraints()) > 200  # every line parsed, one pin per name


def test_the_tested_torch_pair_is_in_the_ranges_and_in_environment_yml():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _constraints()
    env_text = (ROOT / "environment.yml").read_text()
    for requirement in project["dependencies"]:
        req = Requirement(requirement)
        if _name(req.name) in ("torch", "torchvision"):
            assert "==" not in requirement, "the package accepts a range; constraints.txt pins the tested build"
            assert req.specifier.contains(pins[_name(req.name)]), (requirement, pins[_name(req.name)])
            assert f"{_name(req.name)}=={pins[_name(req.name)]}" in env_text


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module name -> "module" or "lazy", for every import in the package."""
    import ast
    import sys

    found: dict[str, set[str]] = {}
    for path in (ROOT / "tlworkbench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                if root not in sys.stdlib_module_names and root != "tlworkbench":
                    found.setdefault(root, set()).add("module" if node.col_offset == 0 else "lazy")
    return found


def test_every_import_is_declared_and_module_level_imports_are_core():
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {_name(Requirement(r).name) for r in project["dependencies"]}
    extras = {_name(Requirement(r).name) for reqs in project["optional-dependencies"].values() for r in reqs}
    distributions = packages_distributions()
    for module, where in _third_party_imports().items():
        names = {_name(d) for d in distributions.get(module, [])}
        assert names, f"{module} is imported but no installed distribution provides it"
        declared = names & (core | extras)
        assert declared, f"{module} (from {names}) is imported but not declared in pyproject.toml"
        if "module" in where:
            assert names & core, f"{module} is imported when a module loads, so it must be a core dependency"



def test_a_text_model_without_transformers_says_how_to_install_it(monkeypatch):
    import builtins

    from tlworkbench.errors import MissingAssetError
    from tlworkbench.zoo.transforms import require_transformers

    real_import = builtins.__import__

    def no_transformers(name, *args, **kwargs):
        if name.split(".")[0] == "transformers":
            raise ImportError("No module named 'transformers'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_transformers)
    with pytest.raises(MissingAssetError, match=r"pip install 'tlworkbench\[text\]'"):
        require_transformers()
