"""The repository's declarative files point at code that exists."""

from __future__ import annotations

import importlib

import yaml

from tests.helpers import ROOT


def test_prefect_yaml_entrypoints_import() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert spec["deployments"], "prefect.yaml declares no deployment"
    for deployment in spec["deployments"]:
        path, _, name = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name)), deployment["entrypoint"]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme.split("\n## ")[0]
    assert "make demo" in readme.split("\n## ")[0]
    assert ci.rstrip().endswith("exec make test")


def test_the_core_library_does_not_import_prefect() -> None:
    """DESIGN: conveyor/ imports neither Prefect nor any connector; flows/ wrap it."""
    import subprocess
    import sys

    modules = sorted(
        "conveyor." + str(p.relative_to(ROOT / "conveyor").with_suffix("")).replace("/", ".")
        for p in (ROOT / "conveyor").rglob("*.py")
        if p.name != "__init__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
