"""Every registered connector inherits the contract suite somewhere under tests/connectors/."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from conveyor.connector import known_connectors
from conveyor.testing.contract import ConnectorContract
from tests.helpers import ROOT

HERE = Path(__file__).resolve().parent


def contract_classes(folder: Path = HERE) -> list[type[ConnectorContract]]:
    """The ConnectorContract subclasses defined by the test modules under ``folder``."""
    found: list[type[ConnectorContract]] = []
    for path in sorted(folder.rglob("test_*.py")):
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, ConnectorContract)
            and value is not ConnectorContract
            and value.__module__ == module.__name__
        ]
    return found


def uncovered(known: Iterable[str], classes: Sequence[type[ConnectorContract]]) -> list[str]:
    """The names in ``known`` that no class tests (its ``connector_name``)."""
    covered = {getattr(c, "connector_name", None) for c in classes}
    return [name for name in known if name not in covered]


def test_every_registered_connector_has_a_contract_test() -> None:
    missing = uncovered(known_connectors(), contract_classes())
    assert not missing, (
        f"registered connectors without a contract test: {', '.join(missing)}; add a module "
        "under tests/connectors/ with a subclass of conveyor.testing.contract.ConnectorContract "
        "whose connector_name is that name"
    )


def test_the_reference_connector_is_registered_and_found() -> None:
    assert "reference" in known_connectors(), "pip install -e . registers the entry points"
    assert "reference" in {c.connector_name for c in contract_classes()}


def test_a_connector_without_a_contract_test_is_named() -> None:
    class Covered(ConnectorContract):
        connector_name = "covered"

    class Unnamed(ConnectorContract):
        pass

    assert uncovered(["covered", "bare", "other"], [Covered, Unnamed]) == ["bare", "other"]
