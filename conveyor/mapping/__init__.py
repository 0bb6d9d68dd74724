"""Mappings: the YAML spec, its compiler to Polars expressions, dedupe and inference."""

from __future__ import annotations

from conveyor.mapping.compiler import CompiledMapping, MappedBatch, compile_mapping
from conveyor.mapping.dedupe import DedupeCounts, DedupeResult, dedupe
from conveyor.mapping.loader import (
    available_mappings,
    dump_mapping,
    load_mapping,
    parse_mapping,
    parse_yaml,
    resolve_mapping,
    spec_hash,
)
from conveyor.mapping.spec import DedupeSpec, FieldSpec, MappingSpec, SpecProblems, TargetSpec
from conveyor.mapping.types import FieldType

__all__ = [
    "CompiledMapping",
    "DedupeCounts",
    "DedupeResult",
    "DedupeSpec",
    "FieldSpec",
    "FieldType",
    "MappedBatch",
    "MappingSpec",
    "SpecProblems",
    "TargetSpec",
    "available_mappings",
    "compile_mapping",
    "dedupe",
    "dump_mapping",
    "load_mapping",
    "parse_mapping",
    "parse_yaml",
    "resolve_mapping",
    "spec_hash",
]
