"""The data model of the fake API_BUSINESS_PARTNER: ``A_BusinessPartnerType`` and its set.

The properties are a subset of SAP's ``A_BusinessPartnerType`` (S/4HANA, service version 0001)
with the types, lengths and SAP annotations of SAP's published ``$metadata``:

- ``BusinessPartner`` (key, ``Edm.String`` MaxLength 10): given on create (external number) or
  drawn from the number range (``1000001``, ``1000002`` ...).
- ``CreationDate``/``LastChangeDate`` (``Edm.DateTime`` Precision 0, ``sap:display-format="Date"``)
  and ``CreationTime``/``LastChangeTime`` (``Edm.Time``), ``CreatedByUser``/``LastChangedByUser``
  and the derived ``BusinessPartnerFullName`` are read-only (``sap:creatable="false"
  sap:updatable="false"``), as in SAP's metadata.
- ``YY1_ConveyorKey`` is a custom field (key-user extensibility names start ``YY1_``), filterable,
  for the connector's external id; ``YY1_CreditLimit`` (``Edm.Decimal`` 15,2; not filterable, not
  sortable) and ``YY1_EmployeeCount`` (``Edm.Int64``) are custom fields that carry the types SAP
  sends as JSON strings.

The entity set is ``sap:deletable="false"``: SAP's API does not delete business partners.
:attr:`EntityType.deletable` makes it ``sap:deletable="true"`` (``FakeSap(deletable=True)``), as
a custom CDS/YY1 service over the same data may be; the fake then serves ``DELETE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

__all__ = [
    "CONTAINER",
    "NAMESPACE",
    "PARTNER",
    "PARTNER_SET",
    "EntityType",
    "Prop",
]

NAMESPACE = "API_BUSINESS_PARTNER"
CONTAINER = "API_BUSINESS_PARTNER_Entities"
PARTNER_SET = "A_BusinessPartner"


@dataclass(frozen=True)
class Prop:
    """One property with the SAP annotations its ``$metadata`` carries."""

    name: str
    edm: str
    label: str
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    creatable: bool = True
    updatable: bool = True
    filterable: bool = True
    sortable: bool = True
    display_format: str | None = None
    quickinfo: str | None = None

    @property
    def date_only(self) -> bool:
        """An ``Edm.DateTime`` shown as a date: its time part is always midnight."""
        return self.edm == "Edm.DateTime" and self.display_format == "Date"


@dataclass(frozen=True)
class EntityType:
    """An entity type and its one entity set; ``deletable`` is the set's ``sap:deletable``
    (the set is always ``sap:creatable`` and ``sap:updatable``)."""

    name: str
    set_name: str
    key: str
    props: tuple[Prop, ...]
    deletable: bool = False

    def __iter__(self) -> Iterator[Prop]:
        return iter(self.props)

    def get(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    @property
    def qualified_name(self) -> str:
        return f"{NAMESPACE}.{self.name}"


def _string(
    name: str,
    length: int,
    label: str,
    *,
    nullable: bool = True,
    display_format: str | None = None,
    quickinfo: str | None = None,
) -> Prop:
    return Prop(
        name,
        "Edm.String",
        label,
        max_length=length,
        nullable=nullable,
        display_format=display_format,
        quickinfo=quickinfo,
    )


def _read_only(prop: Prop) -> Prop:
    """``sap:creatable="false" sap:updatable="false"``: the service fills the value."""
    return replace(prop, creatable=False, updatable=False)


PARTNER = EntityType(
    name="A_BusinessPartnerType",
    set_name=PARTNER_SET,
    key="BusinessPartner",
    props=(
        _string(
            "BusinessPartner",
            10,
            "Business Partner",
            nullable=False,
            display_format="UpperCase",
            quickinfo="Business Partner Number",
        ),
        _string(
            "BusinessPartnerCategory",
            1,
            "BP Category",
            display_format="UpperCase",
            quickinfo="Business Partner Category",
        ),
        _read_only(_string("BusinessPartnerFullName", 81, "Full Name")),
        _string(
            "BusinessPartnerGrouping",
            4,
            "Grouping",
            display_format="UpperCase",
            quickinfo="Business Partner Grouping",
        ),
        _read_only(
            _string(
                "CreatedByUser",
                12,
                "Created By",
                display_format="UpperCase",
                quickinfo="User who created the object",
            )
        ),
        _read_only(
            Prop(
                "CreationDate",
                "Edm.DateTime",
                "Created On",
                precision=0,
                display_format="Date",
                quickinfo="Date on which the object was created",
            )
        ),
        _read_only(
            Prop(
                "CreationTime",
                "Edm.Time",
                "Created at",
                precision=0,
                quickinfo="Time at which the object was created",
            )
        ),
        _string("FirstName", 40, "First Name", quickinfo="First name of business partner (person)"),
        _read_only(
            Prop(
                "LastChangeDate",
                "Edm.DateTime",
                "Changed on",
                precision=0,
                display_format="Date",
                quickinfo="Date when object was last changed",
            )
        ),
        _read_only(
            Prop(
                "LastChangeTime",
                "Edm.Time",
                "Changed at",
                precision=0,
                quickinfo="Time at which object was last changed",
            )
        ),
        _read_only(
            _string(
                "LastChangedByUser",
                12,
                "Changed by",
                display_format="UpperCase",
                quickinfo="Last user to change object",
            )
        ),
        _string("LastName", 40, "Last Name", quickinfo="Last name of business partner (person)"),
        _string("OrganizationBPName1", 40, "Name 1", quickinfo="Name 1 of organization"),
        _string("OrganizationBPName2", 40, "Name 2", quickinfo="Name 2 of organization"),
        _string(
            "SearchTerm1",
            20,
            "Search Term 1",
            display_format="UpperCase",
            quickinfo="Search Term 1 for Business Partner",
        ),
        Prop(
            "BusinessPartnerIsBlocked",
            "Edm.Boolean",
            "Central Block",
            display_format="UpperCase",
            quickinfo="Central Block for Business Partner",
        ),
        _string("YY1_ConveyorKey", 40, "Conveyor Key", quickinfo="Key of the record in Conveyor"),
        Prop(
            "YY1_CreditLimit",
            "Edm.Decimal",
            "Credit Limit",
            precision=15,
            scale=2,
            filterable=False,
            sortable=False,
        ),
        Prop("YY1_EmployeeCount", "Edm.Int64", "Employees"),
    ),
)
