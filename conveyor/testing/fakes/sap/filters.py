"""``$filter`` for the fake: OData v2's expression syntax, parsed, type-checked against the
entity type and compiled to a predicate over stored values.

Supported: ``eq ne gt ge lt le``, ``and or not``, parentheses; literals ``'text'`` (``''`` is a
quote), ``datetime'2024-01-01T00:00:00'`` (seconds and fractions optional),
``time'PT10H30M00S'``, ``true``/``false``, ``null``, numbers (``42``, ``42L``, ``1.5M``,
``1.5d``); functions ``substringof``, ``startswith``, ``endswith``, ``tolower``, ``toupper``,
``trim`` and ``length``. Arithmetic (``add``, ``sub`` ...) and ``any``/``all`` are refused.

Type rules follow SAP Gateway: both sides of a comparison must have the same type (a date
property compares with a ``datetime'...'`` literal, never a string), and a property marked
``sap:filterable="false"`` cannot be filtered on (the fake enforces the annotation; a decision,
so a connector learns it from the fake rather than in production). An empty date (ABAP's
initial date, written ``null``) is smaller than every date, as in the database, and equals
``null``. Every refusal is a 400 OData error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from conveyor.testing.fakes.sap.errors import ODataError, bad_request
from conveyor.testing.fakes.sap.schema import EntityType, Prop
from conveyor.testing.fakes.sap.values import parse_time

__all__ = ["Predicate", "compile_filter"]

Predicate = Callable[[Mapping[str, Any]], bool]
Getter = Callable[[Mapping[str, Any]], Any]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<typed>(?:datetimeoffset|datetime|time|guid)'[^']*')
      | (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_ARITHMETIC = {"add", "sub", "mul", "div", "mod"}
_KIND_OF_EDM = {
    "Edm.String": "string",
    "Edm.Boolean": "boolean",
    "Edm.DateTime": "datetime",
    "Edm.Time": "time",
    "Edm.Decimal": "number",
    "Edm.Int64": "number",
}
#: name -> (argument kinds, result kind)
_FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "substringof": (("string", "string"), "boolean"),
    "startswith": (("string", "string"), "boolean"),
    "endswith": (("string", "string"), "boolean"),
    "tolower": (("string",), "string"),
    "toupper": (("string",), "string"),
    "trim": (("string",), "string"),
    "length": (("string",), "number"),
}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


@dataclass(frozen=True)
class _Typed:
    """A compiled operand: its type and how to read it from a row."""

    kind: str
    get: Getter


def compile_filter(text: str, entity: EntityType) -> Predicate:
    """The predicate of a ``$filter`` expression, or a 400 :class:`ODataError`."""
    parser = _Parser(text, entity)
    expression = parser.expression()
    parser.expect_end()
    if expression.kind != "boolean":
        raise _invalid(text, "the expression is not a condition")
    get = expression.get
    return lambda row: bool(get(row))


def _invalid(text: str, why: str) -> ODataError:
    return bad_request(f"Invalid filter expression: '{text}' ({why})", "/IWBEP/CM_MGW_RT/005")


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _invalid(text, f"unexpected character at position {position + 1}")
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent: or > and > not > comparison > primary."""

    def __init__(self, text: str, entity: EntityType) -> None:
        self.text = text
        self.entity = entity
        self.tokens = _tokens(text)
        self.index = 0

    # -- token helpers ------------------------------------------------------------------------

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _word(self) -> str:
        token = self._peek()
        return token.text.lower() if token is not None and token.kind == "name" else ""

    def _take(self) -> _Token:
        token = self._peek()
        if token is None:
            raise _invalid(self.text, "the expression ends too early")
        self.index += 1
        return token

    def _punct(self, char: str) -> None:
        token = self._take()
        if token.text != char:
            raise _invalid(self.text, f"expected '{char}' at position {token.at + 1}")

    def expect_end(self) -> None:
        token = self._peek()
        if token is not None:
            raise _invalid(self.text, f"unexpected '{token.text}' at position {token.at + 1}")

    # -- grammar ------------------------------------------------------------------------------

    def expression(self) -> _Typed:
        left = self._and()
        while self._word() == "or":
            self.index += 1
            left = self._logic("or", left, self._and())
        return left

    def _and(self) -> _Typed:
        left = self._not()
        while self._word() == "and":
            self.index += 1
            left = self._logic("and", left, self._not())
        return left

    def _not(self) -> _Typed:
        if self._word() == "not":
            self.index += 1
            inner = self._not()
            self._need(inner, "boolean", "not")
            get = inner.get
            return _Typed("boolean", lambda row: not get(row))
        return self._comparison()

    def _comparison(self) -> _Typed:
        left = self._primary()
        word = self._word()
        if word in _ARITHMETIC:
            raise _invalid(self.text, f"the operator '{word}' is not supported")
        if word not in _COMPARE:
            return left
        self.index += 1
        return _compare(self.text, word, left, self._primary())

    def _primary(self) -> _Typed:
        token = self._take()
        if token.text == "(":
            inner = self.expression()
            self._punct(")")
            return inner
        if token.kind in ("typed", "string", "number"):
            return _literal(self.text, token)
        if token.kind != "name":
            raise _invalid(self.text, f"unexpected '{token.text}' at position {token.at + 1}")
        word = token.text.lower()
        if word in ("true", "false"):
            value = word == "true"
            return _Typed("boolean", lambda row: value)
        if word == "null":
            return _Typed("null", lambda row: None)
        nxt = self._peek()
        if nxt is not None and nxt.text == "(":
            return self._call(token.text)
        return self._property(token.text)

    def _property(self, name: str) -> _Typed:
        prop = self.entity.get(name)
        if prop is None:
            raise bad_request(f"Property '{name}' not found in type '{self.entity.name}'")
        if not prop.filterable:
            raise bad_request(f"Property '{name}' is not filterable", target=name)
        return _property(prop)

    def _call(self, name: str) -> _Typed:
        signature = _FUNCTIONS.get(name.lower())
        if signature is None:
            raise _invalid(self.text, f"the function '{name}' is not supported")
        self._punct("(")
        args = [self.expression()]
        while (following := self._peek()) is not None and following.text == ",":
            self.index += 1
            args.append(self.expression())
        self._punct(")")
        kinds, result = signature
        if len(args) != len(kinds):
            raise _invalid(self.text, f"'{name}' takes {len(kinds)} argument(s)")
        for arg, kind in zip(args, kinds, strict=True):
            self._need(arg, kind, name)
        return _Typed(result, _function(name.lower(), [a.get for a in args]))

    def _need(self, operand: _Typed, kind: str, where: str) -> None:
        if operand.kind != kind:
            raise _invalid(self.text, f"'{where}' needs a {kind}, not a {operand.kind}")

    def _logic(self, op: str, left: _Typed, right: _Typed) -> _Typed:
        self._need(left, "boolean", op)
        self._need(right, "boolean", op)
        lget, rget = left.get, right.get
        if op == "and":
            return _Typed("boolean", lambda row: lget(row) and rget(row))
        return _Typed("boolean", lambda row: lget(row) or rget(row))


def _property(prop: Prop) -> _Typed:
    kind = _KIND_OF_EDM.get(prop.edm, "other")
    name = prop.name
    if kind == "number":
        return _Typed(kind, lambda row: Decimal(row[name]))
    return _Typed(kind, lambda row: row[name])


def _literal(text: str, token: _Token) -> _Typed:
    raw = token.text
    if token.kind == "string":
        value: Any = raw[1:-1].replace("''", "'")
        return _Typed("string", lambda row: value)
    if token.kind == "number":
        digits = raw.rstrip("mMdDfFlL")
        number = Decimal(digits)
        return _Typed("number", lambda row: number)
    prefix, _, quoted = raw.partition("'")
    body = quoted[:-1]
    prefix = prefix.lower()
    if prefix == "datetime":
        match = re.fullmatch(
            r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d{1,7})?", body
        )
        if match is None:
            raise _invalid(text, f"'{raw}' is not a valid datetime literal")
        day, hours, minutes, seconds = match.groups()
        try:
            stamp = datetime.fromisoformat(f"{day}T{hours}:{minutes}:{seconds or '00'}")
        except ValueError:
            raise _invalid(text, f"'{raw}' is not a valid datetime literal") from None
        return _Typed("datetime", lambda row: stamp)
    if prefix == "time":
        moment = parse_time(body)
        if moment is None:
            raise _invalid(text, f"'{raw}' is not a valid time literal")
        return _Typed("time", lambda row: moment)
    return _Typed(prefix, lambda row: body)  # datetimeoffset, guid: no property of these types


def _compare(text: str, op: str, left: _Typed, right: _Typed) -> _Typed:
    if "null" in (left.kind, right.kind):
        if op not in ("eq", "ne"):
            raise _invalid(text, f"'{op}' cannot compare with null")
        other = right if left.kind == "null" else left
        oget = other.get
        if op == "eq":
            return _Typed("boolean", lambda row: oget(row) is None)
        return _Typed("boolean", lambda row: oget(row) is not None)
    if left.kind != right.kind:
        raise _invalid(text, f"'{op}' cannot compare a {left.kind} with a {right.kind}")
    lget, rget = left.get, right.get
    if left.kind == "datetime":
        lget, rget = _initial_is_smallest(lget), _initial_is_smallest(rget)
    check = _OPERATORS[op]
    return _Typed("boolean", lambda row: check(lget(row), rget(row)))


def _initial_is_smallest(get: Getter) -> Getter:
    return lambda row: datetime.min if (value := get(row)) is None else value


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
}


def _function(name: str, args: list[Getter]) -> Getter:
    first = args[0]
    if name == "substringof":
        second = args[1]
        return lambda row: first(row) in second(row)
    if name == "startswith":
        second = args[1]
        return lambda row: first(row).startswith(second(row))
    if name == "endswith":
        second = args[1]
        return lambda row: first(row).endswith(second(row))
    if name == "tolower":
        return lambda row: first(row).lower()
    if name == "toupper":
        return lambda row: first(row).upper()
    if name == "trim":
        return lambda row: first(row).strip()
    return lambda row: Decimal(len(first(row)))
