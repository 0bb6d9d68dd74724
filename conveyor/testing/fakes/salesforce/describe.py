"""The org's schema, built from recorded describe payloads rather than invented ones.

Describe bodies are the hardest Salesforce shape to fake, so the fake loads the real ones recorded
in the cumulusci cassettes (``GET_sobjects_<X>_describe.yaml``) and serves them back, with the
custom fields and objects a test declares appended. :func:`custom_field` builds such a field from
a recorded string field, so its describe entry has every key a real one has.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from conveyor.testing.fakes.salesforce.api_errors import not_found

__all__ = [
    "CASSETTES_ENV",
    "FieldSpec",
    "ObjectSchema",
    "Schema",
    "cassette_dir",
    "custom_field",
]

#: Where the recorded describe cassettes live, when not in ../shared/peer-suites.
CASSETTES_ENV = "CONVEYOR_SALESFORCE_CASSETTES"
_DEFAULT_DIR = (
    Path(__file__).resolve().parents[5]
    / "shared/peer-suites/cumulusci-cassettes/cumulusci/tests/shared_cassettes"
)
_SYSTEM_FIELDS = (
    "OwnerId",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
_GLOBAL_KEYS = [
    "activateable",
    "associateEntityType",
    "associateParentEntity",
    "createable",
    "custom",
    "customSetting",
    "deepCloneable",
    "deletable",
    "deprecatedAndHidden",
    "feedEnabled",
    "hasSubtypes",
    "isInterface",
    "isSubtype",
    "keyPrefix",
    "label",
    "labelPlural",
    "layoutable",
    "mergeable",
    "mruEnabled",
    "name",
    "queryable",
    "replicateable",
    "retrieveable",
    "searchable",
    "triggerable",
    "undeletable",
    "updateable",
]
_GLOBAL_URLS = frozenset(
    (
        "compactLayouts",
        "rowTemplate",
        "approvalLayouts",
        "listviews",
        "describe",
        "quickActions",
        "layouts",
        "sobject",
    )
)
_VERSION_RE = re.compile(r"/services/data/v(?:\d+|xx)\.0/")
_SOAP_TYPES = {
    "string": "xsd:string",
    "textarea": "xsd:string",
    "email": "xsd:string",
    "phone": "xsd:string",
    "url": "xsd:string",
    "picklist": "xsd:string",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "reference": "tns:ID",
}


def cassette_dir() -> Path:
    """The folder of recorded describe cassettes, or a clear error saying how to point at it."""
    folder = Path(os.environ.get(CASSETTES_ENV) or _DEFAULT_DIR)
    if not (folder / "GET_sobjects_Account_describe.yaml").is_file():
        raise FileNotFoundError(
            f"the fake Salesforce serves recorded describe payloads and found none in {folder}; "
            f"set {CASSETTES_ENV} to the cumulusci-cassettes 'tests/shared_cassettes' folder"
        )
    return folder


@lru_cache(maxsize=32)
def _recorded_body(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        cassette = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return str(cassette["response"]["body"]["string"])


def _recorded(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"GET_sobjects_{name}_describe.yaml"
    if not path.is_file():
        return None
    body: dict[str, Any] = json.loads(_recorded_body(str(path)))
    return body


@dataclass(frozen=True)
class FieldSpec:
    """One field as its describe entry declares it (the entry itself is kept in ``raw``)."""

    raw: Mapping[str, Any]

    @cached_property
    def name(self) -> str:
        return str(self.raw["name"])

    @cached_property
    def label(self) -> str:
        return str(self.raw.get("label") or self.name)

    @cached_property
    def type(self) -> str:
        return str(self.raw["type"])

    def flag(self, key: str) -> bool:
        return bool(self.raw.get(key))

    @cached_property
    def length(self) -> int:
        return int(self.raw.get("length") or 0)

    @cached_property
    def reference_to(self) -> tuple[str, ...]:
        return tuple(self.raw.get("referenceTo") or ())

    @cached_property
    def relationship_name(self) -> str | None:
        value = self.raw.get("relationshipName")
        return str(value) if value else None

    @cached_property
    def picklist(self) -> tuple[str, ...]:
        return tuple(str(v["value"]) for v in self.raw.get("picklistValues") or ())

    @cached_property
    def required(self) -> bool:
        """Required on create: Salesforce's own rule from the describe flags."""
        return (
            self.flag("createable")
            and not self.flag("nillable")
            and not self.flag("defaultedOnCreate")
        )

    @cached_property
    def upsert_key(self) -> bool:
        """Can name the match field of an upsert (external ids and id-lookup fields)."""
        return self.flag("externalId") or self.flag("idLookup")


def custom_field(
    name: str,
    type: str = "string",
    *,
    label: str | None = None,
    external_id: bool = False,
    unique: bool = False,
    case_sensitive: bool = False,
    required: bool = False,
    length: int = 255,
    reference_to: str | None = None,
    relationship_name: str | None = None,
    picklist: Sequence[str] = (),
    restricted: bool = False,
    default: object = None,
) -> FieldSpec:
    """A custom field (``Conveyor_Key__c``...) for :meth:`ObjectSchema.add_field`, which
    completes its describe entry from the object's recorded fields."""
    if type not in _SOAP_TYPES:
        raise ValueError(f"unsupported custom field type {type!r}; one of {sorted(_SOAP_TYPES)}")
    if type == "reference" and not reference_to:
        raise ValueError(f"reference field {name} needs reference_to (the parent object)")
    text = type in ("string", "textarea", "email", "phone", "url", "picklist")
    entry: dict[str, Any] = dict(
        name=name,
        label=label or name.removesuffix("__c").replace("_", " "),
        type=type,
        soapType=_SOAP_TYPES[type],
        custom=True,
        createable=True,
        updateable=True,
        calculated=False,
        autoNumber=False,
        externalId=external_id,
        idLookup=external_id or type == "email",
        unique=unique,
        caseSensitive=case_sensitive,
        nillable=not required and type != "boolean",
        defaultedOnCreate=type == "boolean",
        defaultValue=default if default is not None else (False if type == "boolean" else None),
        length=length if text else 0,
        byteLength=length * 3 if text else 0,
        precision=18 if type in ("double", "currency", "percent") else 0,
        scale=2 if type in ("currency", "percent") else 0,
        digits=9 if type == "int" else 0,
        nameField=False,
        referenceTo=[reference_to] if reference_to else [],
        relationshipName=relationship_name
        or (name.removesuffix("__c") + "__r" if reference_to else None),
        picklistValues=[
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in picklist
        ],
        restrictedPicklist=restricted,
    )
    return FieldSpec(entry)


class ObjectSchema:
    """One sObject: its describe body and its fields by case-insensitive name."""

    def __init__(self, describe: dict[str, Any]) -> None:
        self._describe = describe
        self.fields: dict[str, FieldSpec] = {}
        self.relationships: dict[str, FieldSpec] = {}
        for entry in describe.get("fields", []):
            self._index(FieldSpec(entry))

    @cached_property
    def name(self) -> str:
        return str(self._describe["name"])

    @property
    def key_prefix(self) -> str:
        return str(self._describe["keyPrefix"])

    @cached_property
    def label(self) -> str:
        return str(self._describe.get("label") or self.name)

    def _index(self, spec: FieldSpec) -> None:
        self.fields[spec.name.lower()] = spec
        if spec.type == "reference" and spec.relationship_name:
            self.relationships[spec.relationship_name.lower()] = spec
        self.__dict__.pop("required_fields", None)
        self.__dict__.pop("blank_record", None)

    @cached_property
    def required_fields(self) -> tuple[str, ...]:
        """Fields a create must set (kept per object: every insert checks them)."""
        return tuple(s.name for s in self.fields.values() if s.required)

    @cached_property
    def blank_record(self) -> dict[str, object]:
        """A new record before values: nulls, and checkbox defaults."""
        return {
            s.name: bool(s.raw.get("defaultValue") or False) if s.type == "boolean" else None
            for s in self.fields.values()
            if s.type not in ("address", "location")
        }

    def field(self, name: str) -> FieldSpec | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        return self.relationships.get(name.lower())

    def add_field(self, spec: FieldSpec) -> None:
        """Add a field; its describe entry gets every key a recorded string field has."""
        if spec.name.lower() in self.fields:
            raise ValueError(f"{self.name} already has a field {spec.name}")
        fields: list[dict[str, Any]] = self._describe.get("fields", [])
        template = next((e for e in fields if e["type"] == "string"), {})
        entry = {**copy.deepcopy(template), **spec.raw}
        self._describe.setdefault("fields", []).append(entry)
        self._index(FieldSpec(entry))

    def describe_body(self, version: str) -> dict[str, Any]:
        text = _VERSION_RE.sub(f"/services/data/v{version}/", json.dumps(self._describe))
        body: dict[str, Any] = json.loads(text)
        return body

    def global_entry(self, version: str) -> dict[str, Any]:
        """This object's entry in ``GET sobjects`` (the keys of the recorded global describe)."""
        entry = {key: self._describe.get(key) for key in _GLOBAL_KEYS}
        urls = self.describe_body(version).get("urls", {})
        entry["urls"] = {k: v for k, v in urls.items() if k in _GLOBAL_URLS}
        return entry


class Schema:
    """The org's objects: recorded ones loaded on first use, plus objects tests add."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder or cassette_dir()
        self._objects: dict[str, ObjectSchema] = {}
        self._missing: set[str] = set()
        self._lock = threading.RLock()
        for name in ("Account", "Contact"):
            self.require(name)

    def get(self, name: str) -> ObjectSchema | None:
        key = name.lower()
        with self._lock:
            if key not in self._objects and key not in self._missing:
                body = _recorded(self._folder, name) if re.fullmatch(r"\w+", name) else None
                if body is None or str(body.get("name", "")).lower() != key:
                    self._missing.add(key)
                else:
                    self._objects[key] = ObjectSchema(body)
            return self._objects.get(key)

    def require(self, name: str) -> ObjectSchema:
        found = self.get(name)
        if found is None:
            raise not_found()
        return found

    def loaded(self) -> list[ObjectSchema]:
        with self._lock:
            return list(self._objects.values())

    def by_prefix(self, prefix: str) -> ObjectSchema | None:
        return next((o for o in self.loaded() if o.key_prefix == prefix), None)

    def add_object(
        self, name: str, fields: Iterable[FieldSpec] = (), *, key_prefix: str | None = None
    ) -> ObjectSchema:
        """A custom object with the standard system fields, a Name field and ``fields``."""
        if not name.endswith("__c"):
            raise ValueError(f"custom object names end in __c, not {name!r}")
        if self.get(name) is not None:
            raise ValueError(f"the org already has an object {name}")
        template = _recorded(self._folder, "Custom__c") or {}
        account = self.require("Account")._describe
        describe = copy.deepcopy({k: v for k, v in template.items() if k != "fields"})
        label = name.removesuffix("__c").replace("_", " ")
        prefix = key_prefix or f"a{len(self._objects):02d}"
        describe.update(name=name, label=label, labelPlural=label + "s", keyPrefix=prefix)
        text = json.dumps(describe).replace("Custom__c", name)
        describe = json.loads(text)
        base = [f for f in template.get("fields", []) if f["name"] in ("Id", "Name")]
        system = [f for f in account["fields"] if f["name"] in _SYSTEM_FIELDS]
        describe["fields"] = copy.deepcopy(base + system)
        created = ObjectSchema(describe)
        for spec in fields:
            created.add_field(spec)
        with self._lock:
            self._objects[name.lower()] = created
            self._missing.discard(name.lower())
        return created

    def global_describe(self, version: str) -> dict[str, Any]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [o.global_entry(version) for o in self.loaded()],
        }
