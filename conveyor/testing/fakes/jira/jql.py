"""JQL text to a syntax tree, with Jira's syntax errors.

The grammar the fake reads::

    query    := [or] [ORDER BY field [ASC|DESC] {, field [ASC|DESC]}]
    or       := and {OR and}
    and      := not {AND not}
    not      := NOT not | "(" or ")" | clause
    clause   := field operator operand
    operator := = | != | > | >= | < | <= | ~ | !~ | IN | NOT IN | IS | IS NOT
    operand  := value | EMPTY | NULL | function "(" [value {, value}] ")"
              | "(" operand {, operand} ")"

Fields and values are words or quoted strings (``"..."`` or ``'...'``, with JQL's escapes
``\\"``, ``\\'``, ``\\\\``, ``\\t``, ``\\n``, ``\\r``, ``\\ `` and ``\\uXXXX``; any other
escape is an error, as in Jira). Meaning (fields, values, operators per field) is checked by
:mod:`conveyor.testing.fakes.jira.query`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conveyor.testing.fakes.jira.routing import JiraError

__all__ = ["Clause", "Group", "Negation", "Node", "Operand", "Query", "SortKey", "parse"]

_OPERATORS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "null", "order", "by"})
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "t": "\t", "n": "\n", "r": "\r", " ": " "}
_WORD = re.compile(r"[^\s\"'(),=!<>~]+")
_SYMBOL = re.compile(r"!=|!~|>=|<=|[=<>~(),]")


@dataclass(frozen=True)
class Token:
    kind: str  # word, string, symbol, end
    text: str
    position: int  # 1-based character

    def keyword(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


@dataclass(frozen=True)
class Operand:
    kind: str  # value, empty, function
    text: str
    arguments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str  # lower case: =, !=, >, in, not in, is, is not, ~ ...
    operands: tuple[Operand, ...]
    is_list: bool
    position: int


@dataclass(frozen=True)
class Group:
    operator: str  # and, or
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    part: Node


Node = Clause | Group | Negation


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool
    position: int


@dataclass(frozen=True)
class Query:
    where: Node | None
    order: tuple[SortKey, ...]


def syntax_error(message: str, position: int) -> JiraError:
    return JiraError(400, (f"Error in the JQL Query: {message} (line 1, character {position})",))


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "\"'":
            start = index
            value, index = _string(text, index)
            tokens.append(Token("string", value, start + 1))
        elif symbol := _SYMBOL.match(text, index):
            tokens.append(Token("symbol", symbol.group(), index + 1))
            index = symbol.end()
        elif word := _WORD.match(text, index):
            tokens.append(Token("word", word.group(), index + 1))
            index = word.end()
        else:
            raise syntax_error(f"The character '{char}' is a reserved JQL character.", index + 1)
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    quote, index = text[start], start + 1
    out: list[str] = []
    while index < len(text):
        char = text[index]
        if char == quote:
            return "".join(out), index + 1
        if char == "\\":
            following = text[index + 1 : index + 2]
            if following == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[index + 2 : index + 6]):
                out.append(chr(int(text[index + 2 : index + 6], 16)))
                index += 6
                continue
            if following not in _ESCAPES:
                raise syntax_error(
                    f"'\\{following}' is an illegal JQL escape sequence. The valid escape "
                    "sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX.",
                    index + 1,
                )
            out.append(_ESCAPES[following])
            index += 2
            continue
        out.append(char)
        index += 1
    raise syntax_error(
        f"The quoted string '{text[start + 1 :]}' has not been completed.", start + 1
    )


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def query(self) -> Query:
        where = None if self.token.keyword("order") or self.token.kind == "end" else self.or_()
        order: tuple[SortKey, ...] = ()
        if self.token.keyword("order"):
            order = self.order_by()
        if self.token.kind != "end":
            raise syntax_error(
                f"Expecting either 'OR' or 'AND' but got '{self.token.text}'.", self.token.position
            )
        return Query(where, order)

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.token.keyword("or"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Group("or", tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.token.keyword("and"):
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else Group("and", tuple(parts))

    def not_(self) -> Node:
        if self.token.keyword("not"):
            self.take()
            return Negation(self.not_())
        if self.token.text == "(" and self.token.kind == "symbol":
            self.take()
            inner = self.or_()
            self.expect(")")
            return inner
        return self.clause()

    def expect(self, symbol: str) -> None:
        if self.token.kind != "symbol" or self.token.text != symbol:
            got = self.token.text or "the end of the query"
            raise syntax_error(f"Expecting '{symbol}' but got '{got}'.", self.token.position)
        self.take()

    def field(self) -> Token:
        token = self.token
        if token.kind == "string" or (token.kind == "word" and token.text.lower() not in _KEYWORDS):
            return self.take()
        if token.kind == "end":
            raise syntax_error("Expecting a field name at the end of the query.", token.position)
        raise syntax_error(f"Expecting a field name but got '{token.text}'.", token.position)

    def clause(self) -> Clause:
        name = self.field()
        operator = self.operator()
        opens_list = self.token.text == "(" and self.token.kind == "symbol"
        if operator in ("in", "not in") or opens_list:
            operands, is_list = self.list_operand(), True
        else:
            operands, is_list = (self.operand(),), False
        return Clause(name.text, operator, operands, is_list, name.position)

    def operator(self) -> str:
        token = self.take()
        if token.kind == "symbol" and token.text in ("=", "!=", ">", ">=", "<", "<=", "~", "!~"):
            return token.text
        if token.keyword("in"):
            return "in"
        if token.keyword("is"):
            if self.token.keyword("not"):
                self.take()
                return "is not"
            return "is"
        if token.keyword("not") and self.token.keyword("in"):
            self.take()
            return "not in"
        got = token.text or "the end of the query"
        raise syntax_error(
            f"Expecting operator but got '{got}'. The valid operators are {_OPERATORS}.",
            token.position,
        )

    def list_operand(self) -> tuple[Operand, ...]:
        self.expect("(")
        operands = [self.operand()]
        while self.token.kind == "symbol" and self.token.text == ",":
            self.take()
            operands.append(self.operand())
        self.expect(")")
        return tuple(operands)

    def operand(self) -> Operand:
        token = self.token
        if token.keyword("empty", "null"):
            self.take()
            return Operand("empty", token.text)
        if token.kind == "string":
            self.take()
            return Operand("value", token.text)
        if token.kind == "word" and token.text.lower() not in _KEYWORDS:
            self.take()
            if self.token.kind == "symbol" and self.token.text == "(":
                return Operand("function", token.text, self.arguments())
            return Operand("value", token.text)
        got = token.text or "the end of the query"
        raise syntax_error(
            f"Expecting either a value, list or function but got '{got}'. You must surround "
            f"'{got}' in quotation marks to use it as a value.",
            token.position,
        )

    def arguments(self) -> tuple[str, ...]:
        self.expect("(")
        values: list[str] = []
        while not (self.token.kind == "symbol" and self.token.text == ")"):
            if values:
                self.expect(",")
            if self.token.kind not in ("word", "string"):
                raise syntax_error(
                    f"Expecting a function argument but got '{self.token.text}'.",
                    self.token.position,
                )
            values.append(self.take().text)
        self.take()
        return tuple(values)

    def order_by(self) -> tuple[SortKey, ...]:
        self.take()
        if not self.token.keyword("by"):
            raise syntax_error(f"Expecting 'by' but got '{self.token.text}'.", self.token.position)
        self.take()
        keys = [self.sort_key()]
        while self.token.kind == "symbol" and self.token.text == ",":
            self.take()
            keys.append(self.sort_key())
        return tuple(keys)

    def sort_key(self) -> SortKey:
        name = self.field()
        descending = False
        if self.token.keyword("asc", "desc"):
            descending = self.take().text.lower() == "desc"
        return SortKey(name.text, descending, name.position)


def parse(text: str) -> Query:
    """``text`` as a :class:`Query`, or a 400 in Jira's words."""
    return _Parser(tokenize(text)).query()
