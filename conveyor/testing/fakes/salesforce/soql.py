"""A parser for the SOQL subset connectors use, with Salesforce's own error codes.

Supported: ``SELECT f1, Parent.f2 | COUNT() FROM Object [WHERE ...] [ORDER BY f [ASC|DESC]
[NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]``. Conditions compare a field with ``=``, ``!=``,
``<>``, ``<``, ``<=``, ``>``, ``>=``, ``LIKE``, ``IN`` and ``NOT IN``, joined by ``AND``/``OR``
(never both at one level without parentheses, as in SOQL) and negated with ``NOT``. Datetime
literals are unquoted (``2025-01-01T00:00:00Z``); a datetime without zone (what an unencoded
``+00:00`` becomes in a URL) is MALFORMED_QUERY. Anything else is MALFORMED_QUERY too, so a
connector never relies on SOQL the fake silently misreads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NoReturn

from conveyor.testing.fakes.salesforce.api_errors import ApiError

__all__ = [
    "And",
    "Comparison",
    "Condition",
    "FieldRef",
    "Literal_",
    "Not",
    "Or",
    "Order",
    "Query",
    "located",
    "parse",
]

LiteralKind = Literal["string", "number", "datetime", "date", "null", "boolean"]

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<baddatetime>\d{4}-\d{2}-\d{2}T[\d:.]*)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_KEYWORDS = frozenset(
    [
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "in",
        "like",
        "order",
        "by",
        "asc",
        "desc",
        "nulls",
        "first",
        "last",
        "limit",
        "offset",
        "null",
        "true",
        "false",
        "includes",
        "excludes",
        "count",
    ]
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    column: int

    @property
    def keyword(self) -> str | None:
        return self.text.lower() if self.kind == "name" and self.text.lower() in _KEYWORDS else None


@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]
    column: int

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Literal_:
    kind: LiteralKind
    value: object
    column: int


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str
    value: Literal_ | tuple[Literal_, ...]


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | And | Or | Not


@dataclass(frozen=True)
class Order:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    fields: tuple[FieldRef, ...]
    count_only: bool
    object: str
    object_column: int
    where: Condition | None
    order: tuple[Order, ...]
    limit: int | None
    offset: int | None


def located(query: str, column: int, message: str) -> str:
    """Salesforce's error text: the query, a caret under the culprit and the reason."""
    return f"\n{query}\n{' ' * (column - 1)}^\nERROR at Row:1:Column:{column}\n{message}"


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None or match.lastgroup == "baddatetime":
            bad = text[position:].split()[0] if text[position:].split() else text[position]
            _malformed(text, position + 1, f"unexpected token: {bad}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position + 1))
        position = match.end()
    return tokens


def _malformed(query: str, column: int, message: str) -> NoReturn:
    raise ApiError(400, "MALFORMED_QUERY", located(query, column, message))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            _malformed(self.text, len(self.text) + 1, "unexpected end of query")
        self.at += 1
        return token

    def fail(self, token: Token | None = None) -> NoReturn:
        token = token or self.peek()
        if token is None:
            _malformed(self.text, len(self.text) + 1, "unexpected end of query")
        _malformed(self.text, token.column, f"unexpected token: {token.text}")

    def keyword(self, *words: str) -> Token | None:
        token = self.peek()
        if token is not None and token.keyword in words:
            self.at += 1
            return token
        return None

    def expect(self, word: str) -> Token:
        token = self.keyword(word)
        if token is None:
            self.fail()
        return token

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.at += 1
            return True
        return False

    def field(self) -> FieldRef:
        token = self.take()
        if token.kind != "name" or token.keyword in ("from", "where", "order", "limit"):
            self.fail(token)
        return FieldRef(tuple(token.text.split(".")), token.column)

    def query(self) -> Query:
        first = self.peek()
        if first is None or first.keyword != "select":
            bad = first.text if first else ""
            raise ApiError(400, "MALFORMED_QUERY", f"unexpected token: {bad}")
        self.take()
        fields, count_only = self.select_list()
        self.expect("from")
        source = self.take()
        if source.kind != "name" or "." in source.text:
            self.fail(source)
        where = self.condition() if self.keyword("where") else None
        order: tuple[Order, ...] = ()
        if self.keyword("order"):
            self.expect("by")
            order = self.order_list()
        limit = self.integer() if self.keyword("limit") else None
        offset = self.integer() if self.keyword("offset") else None
        if self.peek() is not None:
            self.fail()
        return Query(
            self.text, fields, count_only, source.text, source.column, where, order, limit, offset
        )

    def select_list(self) -> tuple[tuple[FieldRef, ...], bool]:
        token = self.peek()
        if token is not None and token.keyword == "count":
            self.take()
            if not (self.punct("(") and self.punct(")")):
                _malformed(self.text, token.column, "the fake supports COUNT() only")
            return (), True
        fields = [self.select_item()]
        while self.punct(","):
            fields.append(self.select_item())
        return tuple(fields), False

    def select_item(self) -> FieldRef:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == "(":
            _malformed(self.text, token.column, "the fake does not support subqueries")
        item = self.field()
        if len(item.path) > 2:
            _malformed(self.text, item.column, "the fake supports one parent level only")
        return item

    def order_list(self) -> tuple[Order, ...]:
        items = []
        while True:
            field = self.field()
            direction = self.keyword("asc", "desc")
            descending = direction is not None and direction.keyword == "desc"
            nulls_last = descending
            if self.keyword("nulls"):
                word = self.keyword("first", "last")
                if word is None:
                    self.fail()
                nulls_last = word.keyword == "last"
            items.append(Order(field, descending, nulls_last))
            if not self.punct(","):
                return tuple(items)

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            self.fail(token)
        return int(token.text)

    def condition(self) -> Condition:
        items = [self.term()]
        joiner: str | None = None
        while (token := self.keyword("and", "or")) is not None:
            if joiner is not None and token.keyword != joiner:
                self.fail(token)
            joiner = token.keyword
            items.append(self.term())
        if joiner is None:
            return items[0]
        return And(tuple(items)) if joiner == "and" else Or(tuple(items))

    def term(self) -> Condition:
        if self.keyword("not"):
            return Not(self.term())
        if self.punct("("):
            inner = self.condition()
            if not self.punct(")"):
                self.fail()
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.field()
        token = self.take()
        if token.kind == "op":
            return Comparison(field, "!=" if token.text == "<>" else token.text, self.literal())
        if token.keyword == "like":
            return Comparison(field, "LIKE", self.literal())
        if token.keyword == "not":
            self.expect("in")
            return Comparison(field, "NOT IN", self.literal_list())
        if token.keyword == "in":
            return Comparison(field, "IN", self.literal_list())
        self.fail(token)

    def literal_list(self) -> tuple[Literal_, ...]:
        if not self.punct("("):
            self.fail()
        values = [self.literal()]
        while self.punct(","):
            values.append(self.literal())
        if not self.punct(")"):
            self.fail()
        return tuple(values)

    def literal(self) -> Literal_:
        token = self.take()
        if token.kind == "string":
            return Literal_("string", _unquote(token.text), token.column)
        if token.kind == "number":
            return Literal_("number", float(token.text), token.column)
        if token.kind in ("datetime", "date"):
            return Literal_(token.kind, token.text, token.column)  # type: ignore[arg-type]
        if token.keyword == "null":
            return Literal_("null", None, token.column)
        if token.keyword in ("true", "false"):
            return Literal_("boolean", token.keyword == "true", token.column)
        self.fail(token)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def parse(text: str) -> Query:
    """The query's syntax tree, or ApiError MALFORMED_QUERY with Salesforce's message shape."""
    if not text.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text.strip()).query()
