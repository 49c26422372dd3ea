"""Packaging: every third-party module the package imports is a declared
dependency in pyproject.toml, and every declared dependency is pinned in
requirements.txt. (`make check-package` installs the package into a fresh
virtualenv and runs generate, convert, train and export with it.)"""

import ast
import importlib.metadata
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("seqmd_tf", "pipelines")


def _name(requirement: str) -> str:
  """The normalized distribution name of a requirement string."""
  name = re.split(r"[\[<>=!~; ]", requirement.strip(), maxsplit=1)[0]
  return re.sub(r"[-_.]+", "-", name).lower()


def _imports():
  modules = set()
  for package in PACKAGES:
    for path in (ROOT / package).rglob("*.py"):
      for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
          modules.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
          modules.add(node.module.split(".")[0])
  return {m for m in modules
          if m not in sys.stdlib_module_names and m not in PACKAGES}


def _declared():
  project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
  core = {_name(r) for r in project["dependencies"]}
  extras = {_name(r) for reqs in project.get("optional-dependencies", {}).values()
            for r in reqs}
  return core, extras


def test_every_imported_module_is_a_declared_dependency():
  core, extras = _declared()
  providers = importlib.metadata.packages_distributions()
  missing = {}
  for module in sorted(_imports()):
    dists = {_name(d) for d in providers.get(module, [])}
    if module == "tf_keras":  # the newer-TensorFlow venv only
      dists = dists or {"tf-keras"}
      assert dists & extras, "tf_keras must be an optional dependency"
      continue
    if not dists & core:
      missing[module] = sorted(dists)
  assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_every_declared_dependency_is_pinned():
  core, _ = _declared()
  pinned = {_name(line) for line in
            (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")}
  assert core <= pinned, f"declared but not pinned: {sorted(core - pinned)}"
