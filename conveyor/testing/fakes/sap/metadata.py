"""The service's ``$metadata`` (EDMX with SAP annotations) and its service document.

Modelled on SAP's own documents (pyodata's ``tests/metadata.xml`` and SAP's published
API_BUSINESS_PARTNER EDMX): the ``sap`` namespace ``http://www.sap.com/Protocols/SAPData``,
``sap:label``/``sap:quickinfo``/``sap:display-format`` on properties, ``sap:creatable``,
``sap:updatable``, ``sap:sortable`` and ``sap:filterable`` written where they are ``false`` (SAP
leaves out the ``true`` defaults), the entity set's ``sap:creatable``/``sap:updatable``/
``sap:deletable`` (always written; ``sap:deletable`` is ``false`` unless
:attr:`~conveyor.testing.fakes.sap.schema.EntityType.deletable`), and the ``atom:link`` self and
latest-version links SAP appends. It is served as ``application/xml`` (pyodata insists on an XML
content type). The service document carries the set's annotations in XML; its JSON form, as
SAP's, only names the set.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from conveyor.testing.fakes.sap.schema import CONTAINER, NAMESPACE, EntityType, Prop

__all__ = ["metadata_xml", "service_document_json", "service_document_xml"]

_EDMX = "http://schemas.microsoft.com/ado/2007/06/edmx"
_M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
_SAP = "http://www.sap.com/Protocols/SAPData"
_EDM = "http://schemas.microsoft.com/ado/2008/09/edm"
_ATOM = "http://www.w3.org/2005/Atom"
_VOCABULARY = (
    "./IWFND/CATALOGSERVICE;v=2/Vocabularies(TechnicalName='%2FIWBEP%2FVOC_COMMON',"
    "Version='0001',SAP__Origin='LOCAL')/$value"
)


def metadata_xml(entity: EntityType, service_url: str) -> str:
    """The EDMX document of the service at ``service_url`` (links point there)."""
    properties = "\n".join(f"    {_property(p)}" for p in entity)
    deletable = _flag(entity.deletable)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="1.0" xmlns:edmx="{_EDMX}" xmlns:m="{_M}" xmlns:sap="{_SAP}">
 <edmx:Reference Uri={quoteattr(_VOCABULARY)} xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:Include Namespace="com.sap.vocabularies.Common.v1" Alias="Common"/>
 </edmx:Reference>
 <edmx:DataServices m:DataServiceVersion="2.0">
  <Schema Namespace="{NAMESPACE}" xml:lang="en" sap:schema-version="1" xmlns="{_EDM}">
   <EntityType Name="{entity.name}" sap:label="Business Partner" sap:content-version="1">
    <Key>
     <PropertyRef Name="{entity.key}"/>
    </Key>
{properties}
   </EntityType>
   <EntityContainer Name="{CONTAINER}" m:IsDefaultEntityContainer="true" \
sap:supported-formats="atom json xlsx">
    <EntitySet Name="{entity.set_name}" EntityType="{entity.qualified_name}" \
sap:creatable="true" sap:updatable="true" sap:deletable="{deletable}" sap:content-version="1"/>
   </EntityContainer>
   <atom:link rel="self" href={quoteattr(service_url + "/$metadata")} xmlns:atom="{_ATOM}"/>
   <atom:link rel="latest-version" href={quoteattr(service_url + "/$metadata")} \
xmlns:atom="{_ATOM}"/>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>
"""


def _property(prop: Prop) -> str:
    attributes: list[tuple[str, str]] = [("Name", prop.name), ("Type", prop.edm)]
    if not prop.nullable:
        attributes.append(("Nullable", "false"))
    for name, value in (
        ("MaxLength", prop.max_length),
        ("Precision", prop.precision),
        ("Scale", prop.scale),
    ):
        if value is not None:
            attributes.append((name, str(value)))
    if prop.display_format:
        attributes.append(("sap:display-format", prop.display_format))
    attributes.append(("sap:label", prop.label))
    if prop.quickinfo:
        attributes.append(("sap:quickinfo", prop.quickinfo))
    for name, flag in (
        ("sap:creatable", prop.creatable),
        ("sap:updatable", prop.updatable),
        ("sap:sortable", prop.sortable),
        ("sap:filterable", prop.filterable),
    ):
        if not flag:
            attributes.append((name, "false"))
    text = " ".join(f"{name}={quoteattr(value)}" for name, value in attributes)
    return f"<Property {text}/>"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def service_document_json(entity: EntityType) -> dict[str, object]:
    """The JSON service document: SAP lists only the set names (no annotations)."""
    return {"d": {"EntitySets": [entity.set_name]}}


def service_document_xml(entity: EntityType, service_url: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<app:service xml:lang="en" xml:base={quoteattr(service_url + "/")} '
        f'xmlns:app="http://www.w3.org/2007/app" xmlns:atom="{_ATOM}" xmlns:sap="{_SAP}">'
        '<app:workspace><atom:title type="text">Data</atom:title>'
        '<app:collection sap:creatable="true" sap:updatable="true" '
        f'sap:deletable="{_flag(entity.deletable)}" '
        f'sap:content-version="1" href="{entity.set_name}">'
        f'<atom:title type="text">{escape(entity.set_name)}</atom:title>'
        "<sap:member-title>Business Partner</sap:member-title></app:collection>"
        "</app:workspace>"
        f'<atom:link rel="self" href={quoteattr(service_url + "/")}/>'
        f'<atom:link rel="latest-version" href={quoteattr(service_url + "/")}/>'
        "</app:service>"
    )
