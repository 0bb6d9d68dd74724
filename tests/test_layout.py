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
