"""Creating and changing business partners as the API does, with its checks and stamps.

- A body is a JSON object of property values; ``__metadata`` is ignored, so is every read-only
  property (``sap:creatable``/``sap:updatable="false"``: the service fills them; a decision, as
  SAP's documentation does not say whether they are ignored or refused). An unknown property,
  a value of the wrong type or one longer than its ``MaxLength`` is a 400 naming the property.
- ``BusinessPartnerCategory`` is required on create (``1`` person, ``2`` organization, ``3``
  group) and cannot change later; a person needs ``LastName``, an organization or group
  ``OrganizationBPName1``. ``BusinessPartnerFullName`` is derived from the names.
  ``Edm.String`` properties with ``sap:display-format="UpperCase"`` (``SearchTerm1``, codes) are
  stored in upper case.
- Create stamps ``CreationDate``/``CreationTime``/``CreatedByUser``. ``LastChangeDate`` stays
  empty and ``LastChangeTime`` ``PT00H00M00S`` until the first change, as SAP's change stamps
  do (the vendor note's inference); ``stamp_on_create`` stamps them on create too. An update
  that changes a value moves ``LastChangeDate``/``LastChangeTime``/``LastChangedByUser``; one
  that changes nothing writes nothing.
- MERGE and PATCH change the properties given; PUT also resets the updatable properties it
  leaves out to their initial values.
- Delete removes the partner (only served over HTTP when the set is ``sap:deletable``; see
  :mod:`~conveyor.testing.fakes.sap.api`).
- Planned refusals (:meth:`~conveyor.testing.fakes.sap.faults.Faults.reject`) see the resulting
  partner as :meth:`FakeSap.partner` shows it (for a delete: the partner as it stands).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from conveyor.testing.fakes.sap.errors import ODataError, bad_request, not_found
from conveyor.testing.fakes.sap.schema import EntityType
from conveyor.testing.fakes.sap.store import Store
from conveyor.testing.fakes.sap.values import from_input, initial, public_value

__all__ = ["Rejection", "Writer", "public"]

#: ``(operation, partner as FakeSap.partner shows it) -> refusal or None``
Rejection = Callable[[str, Mapping[str, Any]], ODataError | None]
_CATEGORIES = {"1", "2", "3"}
_META = "__metadata"


def public(entity: EntityType, values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored values as :meth:`FakeSap.partner` shows them."""
    return {p.name: public_value(p, values[p.name]) for p in entity}


class Writer:
    """Writes partners into ``store``; ``now`` reads the system-local clock."""

    def __init__(
        self,
        entity: EntityType,
        store: Store,
        now: Callable[[], datetime],
        rejection: Rejection,
        stamp_on_create: Callable[[], bool],
    ) -> None:
        self.entity = entity
        self.store = store
        self.now = now
        self.rejection = rejection
        self.stamp_on_create = stamp_on_create

    def create(self, body: Any, user: str, *, planned_refusals: bool = True) -> dict[str, Any]:
        given = self._read(body, creating=True)
        values = {p.name: initial(p) for p in self.entity}
        values.update(given)
        key = values[self.entity.key]
        if key == "":
            values[self.entity.key] = self.store.next_key()
        elif self.store.get(key) is not None:
            raise ODataError(400, "R11/012", f"Business partner {key} already exists")
        if values["BusinessPartnerCategory"] not in _CATEGORIES:
            raise ODataError(
                400,
                "R11/401",
                "Enter a business partner category (1, 2 or 3)",
                target="BusinessPartnerCategory",
            )
        self._check_names(values)
        now = self.now()
        values.update(
            CreationDate=now.replace(hour=0, minute=0, second=0),
            CreationTime=now.time(),
            CreatedByUser=user.upper()[:12],
            BusinessPartnerFullName=_full_name(values),
        )
        if self.stamp_on_create():
            self._stamp_change(values, now, user)
        if planned_refusals:
            self._check_rejection("create", values)
        self.store.put(values)
        return values

    def update(
        self,
        key: str,
        body: Any,
        user: str,
        *,
        replace: bool = False,
        planned_refusals: bool = True,
    ) -> dict[str, Any]:
        current = self.store.get(key)
        if current is None:
            raise not_found(self.entity.name)
        given = self._read(body, creating=False)
        if given.get(self.entity.key, key) != key:
            raise bad_request("The key in the payload differs from the key in the URI")
        values = dict(current)
        if replace:
            for prop in self.entity:
                if prop.updatable and prop.name not in (self.entity.key, "BusinessPartnerCategory"):
                    values[prop.name] = initial(prop)
        values.update(given)
        if values["BusinessPartnerCategory"] != current["BusinessPartnerCategory"]:
            raise ODataError(
                400,
                "R11/402",
                "The business partner category cannot be changed",
                target="BusinessPartnerCategory",
            )
        self._check_names(values)
        values["BusinessPartnerFullName"] = _full_name(values)
        if values == current:
            return current
        self._stamp_change(values, self.now(), user)
        if planned_refusals:
            self._check_rejection("update", values)
        self.store.put(values)
        return values

    def delete(self, key: str, *, planned_refusals: bool = True) -> None:
        """Remove the partner; an unknown key is SAP's 404."""
        current = self.store.get(key)
        if current is None:
            raise not_found(self.entity.name)
        if planned_refusals:
            self._check_rejection("delete", current)
        self.store.remove(key)

    # -- helpers ------------------------------------------------------------------------------

    def _read(self, body: Any, *, creating: bool) -> dict[str, Any]:
        """The writable values of a request body, in stored form."""
        if not isinstance(body, Mapping):
            raise bad_request("The request body must be a JSON object with the entity's properties")
        values: dict[str, Any] = {}
        for name, raw in body.items():
            if name == _META:
                continue
            prop = self.entity.get(name)
            if prop is None:
                raise bad_request(f"Property '{name}' is invalid", "/IWBEP/CM_MGW_RT/010", name)
            writable = prop.creatable if creating else prop.updatable
            if not writable and name != self.entity.key:
                continue
            try:
                values[name] = from_input(prop, raw)
            except ValueError as exc:
                raise bad_request(
                    f"Property '{name}' has an invalid value: {exc}", "/IWBEP/CM_MGW_RT/011", name
                ) from None
        return values

    @staticmethod
    def _check_names(values: Mapping[str, Any]) -> None:
        if values["BusinessPartnerCategory"] == "1" and not values["LastName"].strip():
            raise ODataError(400, "R11/403", "Enter a last name", target="LastName")
        if (
            values["BusinessPartnerCategory"] in ("2", "3")
            and not values["OrganizationBPName1"].strip()
        ):
            raise ODataError(400, "R11/404", "Enter a name", target="OrganizationBPName1")

    @staticmethod
    def _stamp_change(values: dict[str, Any], now: datetime, user: str) -> None:
        values.update(
            LastChangeDate=now.replace(hour=0, minute=0, second=0),
            LastChangeTime=now.time(),
            LastChangedByUser=user.upper()[:12],
        )

    def _check_rejection(self, operation: str, values: Mapping[str, Any]) -> None:
        refusal = self.rejection(operation, public(self.entity, values))
        if refusal is not None:
            raise refusal


def _full_name(values: Mapping[str, Any]) -> str:
    if values["BusinessPartnerCategory"] == "1":
        parts = (values["FirstName"], values["LastName"])
    else:
        parts = (values["OrganizationBPName1"], values["OrganizationBPName2"])
    return " ".join(p.strip() for p in parts if p.strip())[:81]
