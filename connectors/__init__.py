"""Connector plugins, one package each, registered under the entry-point group
``conveyor.connectors`` (see conveyor/connector.py)."""
