"""The meaning of a JQL query: which issues match, in which order, or why Jira refuses it.

Rules held here (each answered with Jira's 400 ``errorMessages`` when broken):

- Dates: a literal names the first second of its minute in the user's time zone
  (:func:`~.clock.parse_jql_date`); issues compare at whole seconds (Jira's index resolution).
  So an issue updated at 14:05:30 matches ``updated >= "… 14:05"`` *and* ``> "… 14:05"``, and
  not ``<= "… 14:05"``. A seconds or ISO ``T`` form is refused.
- ``key in (A-1, A-2)``: one key that does not exist fails the whole query.
- Text fields (summary, description, "Conveyor Key", comment, ``text``) take only ``~``,
  ``!~`` and ``IS [NOT] EMPTY``; ``~`` is a word search: every word of the value must appear as
  a word of the field (letters and digits; a trailing ``*`` is a prefix), so ``"EXT-1"``
  matches ``EXT-NEW-1``. No stemming (a simplification).
- ``!=`` and ``NOT IN`` never match an empty field, as in Jira.
- Without ORDER BY the fake sorts by key, newest first (a decision: Jira does not document its
  default order); ties always break by issue id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from conveyor.testing.fakes.jira.adf import adf_to_text
from conveyor.testing.fakes.jira.catalog import ISSUE_TYPES, PRIORITIES, PROJECTS, User
from conveyor.testing.fakes.jira.clock import index_seconds, parse_jql_date
from conveyor.testing.fakes.jira.describe import FieldDef, by_clause
from conveyor.testing.fakes.jira.jql import Clause, Group, Negation, Node, Operand, Query, SortKey
from conveyor.testing.fakes.jira.routing import JiraError
from conveyor.testing.fakes.jira.store import StoredIssue
from conveyor.testing.fakes.jira.workflow import STATUSES, find_status

__all__ = ["Context", "Search", "compile_query"]

Predicate = Callable[[StoredIssue], bool]
_DATE_FORMATS = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
    "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
)
_OPERATORS = {
    "key": ("=", "!=", "in", "not in", ">", ">=", "<", "<="),
    "text": ("~", "!~", "is", "is not"),
    "datetime": ("=", "!=", ">", ">=", "<", "<=", "is", "is not"),
}
_EQUALITY = ("=", "!=", "in", "not in", "is", "is not")
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")


@dataclass(frozen=True)
class Context:
    """What a query's meaning depends on besides the issues."""

    zone: ZoneInfo
    now: datetime
    cloud: bool
    users: Sequence[User]
    me: User
    key_of: Callable[[str], str | None]  # the key of the issue a key or id names, if any


@dataclass(frozen=True)
class Search:
    """A checked query: whether it restricts anything, its filter and its order."""

    bounded: bool
    matches: Predicate
    order: Callable[[list[StoredIssue]], list[StoredIssue]]


def compile_query(query: Query, context: Context) -> Search:
    errors: list[str] = []
    matches = _node(query.where, context, errors) if query.where else (lambda issue: True)
    keys = query.order or ()
    sorters = [_sorter(k, errors) for k in keys]
    if errors:
        raise JiraError(400, tuple(dict.fromkeys(errors)))

    def order(issues: list[StoredIssue]) -> list[StoredIssue]:
        result = sorted(issues, key=lambda i: i.id)
        if not keys:
            return sorted(result, key=lambda i: (i.project, i.number), reverse=True)
        for key, sorter in reversed(list(zip(keys, sorters, strict=True))):
            result.sort(key=sorter, reverse=key.descending)
        return result

    return Search(query.where is not None, matches, order)


def _node(node: Node, context: Context, errors: list[str]) -> Predicate:
    if isinstance(node, Negation):
        inner = _node(node.part, context, errors)
        return lambda issue: not inner(issue)
    if isinstance(node, Group):
        parts = [_node(p, context, errors) for p in node.parts]
        if node.operator == "and":
            return lambda issue: all(p(issue) for p in parts)
        return lambda issue: any(p(issue) for p in parts)
    return _clause(node, context, errors)


def _never(issue: StoredIssue) -> bool:
    return False


def _clause(clause: Clause, context: Context, errors: list[str]) -> Predicate:
    if clause.field.lower() == "text":
        definition: FieldDef | None = None
        kind = "text"
    else:
        definition = by_clause(clause.field)
        if definition is None:
            errors.append(
                f"Field '{clause.field}' does not exist or you do not have permission to view it."
            )
            return _never
        kind = (
            "text" if definition.kind == "rich" or definition.id == "comment" else definition.kind
        )
    if kind == "readonly":
        errors.append(f"The fake Jira cannot search '{clause.field}' (not implemented).")
        return _never
    if clause.operator not in _OPERATORS.get(kind, _EQUALITY):
        errors.append(
            f"The operator '{clause.operator.upper()}' is not supported by the "
            f"'{clause.field}' field."
        )
        return _never
    if clause.operator in ("is", "is not") or all(o.kind == "empty" for o in clause.operands):
        return _emptiness(clause, definition, errors)
    if kind == "text":
        return _text(clause, definition, errors)
    assert definition is not None  # only the text master field has no definition
    values = [_resolve(clause, definition, o, context, errors) for o in clause.operands]
    if any(v is _INVALID for v in values):
        return _never
    getter = _getter(definition)
    if kind in ("datetime", "key") and clause.operator in (">", ">=", "<", "<="):
        return _relational(clause.operator, getter, values[0])
    wanted = set(values)
    negative = clause.operator in ("!=", "not in")

    def matches(issue: StoredIssue) -> bool:
        value = getter(issue)
        held = set(value) if isinstance(value, list) else {value} - {None}
        if not held:
            return False
        return bool(held & wanted) != negative

    return matches


_INVALID: Any = object()


def _getter(definition: FieldDef) -> Callable[[StoredIssue], Any]:
    if definition.kind == "key":
        return lambda issue: (issue.project, issue.number)
    if definition.kind == "project":
        return lambda issue: issue.project
    if definition.kind == "datetime":
        return lambda issue: (
            index_seconds(issue.fields[definition.id])
            if issue.fields.get(definition.id) is not None
            else None
        )
    return lambda issue: issue.fields.get(definition.id)


def _relational(operator: str, getter: Callable[[StoredIssue], Any], bound: Any) -> Predicate:
    compare: dict[str, Callable[[Any, Any], bool]] = {
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    test = compare[operator]

    def matches(issue: StoredIssue) -> bool:
        value = getter(issue)
        if value is None:
            return False
        if isinstance(value, tuple) and value[0] != bound[0]:
            return False  # keys compare within their project
        return test(value, bound)

    return matches


def _emptiness(clause: Clause, definition: FieldDef | None, errors: list[str]) -> Predicate:
    if any(o.kind != "empty" for o in clause.operands) or clause.operator in ("in", "not in"):
        errors.append(
            f"The operator '{clause.operator.upper()}' only supports EMPTY or NULL "
            f"for field '{clause.field}'."
        )
        return _never
    want_empty = clause.operator in ("is", "=")
    read = (
        _text_of(definition)
        if definition is None or definition.kind in ("text", "rich")
        else (lambda issue: issue.fields.get(definition.id))
    )
    return lambda issue: (read(issue) in (None, "", [])) == want_empty


def _resolve(
    clause: Clause, definition: FieldDef, operand: Operand, context: Context, errors: list[str]
) -> Any:
    if operand.kind == "empty":
        return None
    text = operand.text
    if operand.kind == "function":
        name = text.lower()
        if name == "currentuser" and definition.kind == "user":
            return context.me.account_id
        if name == "now" and definition.kind == "datetime":
            return index_seconds(context.now)
        errors.append(f"Unable to find JQL function '{text}()'.")
        return _INVALID
    kind = definition.kind
    if kind == "datetime":
        moment = parse_jql_date(text, context.zone, context.now)
        if moment is None:
            errors.append(
                f"Date value '{text}' for field '{clause.field}' is invalid. " + _DATE_FORMATS
            )
            return _INVALID
        return moment
    if kind == "key":
        return _key(text, context, errors)
    found = _lookup(kind, definition, text, context)
    if found is None:
        if kind == "option":
            errors.append(f"The option '{text}' for field '{clause.field}' does not exist.")
        else:
            errors.append(f"The value '{text}' does not exist for the field '{clause.field}'.")
        return _INVALID
    return found


def _key(text: str, context: Context, errors: list[str]) -> Any:
    if not (_KEY.match(text) or text.isdigit()):
        errors.append(f"The issue key '{text}' for field 'key' is invalid.")
        return _INVALID
    key = context.key_of(text)
    if key is None:
        errors.append(f"An issue with key '{text.upper()}' does not exist for field 'key'.")
        return _INVALID
    project, number = key.rsplit("-", 1)
    return (project, int(number))


def _lookup(kind: str, definition: FieldDef, text: str, context: Context) -> str | None:
    lower = text.lower()
    if kind == "labels":
        return text
    if kind == "project":
        return next(
            (p.key for p in PROJECTS if lower in (p.key.lower(), p.name.lower(), p.id)), None
        )
    if kind == "status":
        status = find_status(text)
        return status.name if status else None
    if kind == "issuetype":
        return next((t.name for t in ISSUE_TYPES if lower in (t.name.lower(), t.id)), None)
    if kind == "priority":
        return next((p.name for p in PRIORITIES if lower in (p.name.lower(), p.id)), None)
    if kind == "resolution":
        return "Done" if lower in ("done", "10000") else None
    if kind == "option":
        return next((v for i, v in definition.options if lower in (v.lower(), i)), None)
    if kind == "user":
        for user in context.users:
            if text == user.account_id or (
                not context.cloud and lower in (user.name, user.key.lower())
            ):
                return user.account_id
    return None


# -- text search ---------------------------------------------------------------------------------


def _text_of(definition: FieldDef | None) -> Callable[[StoredIssue], str]:
    """The searchable text of a field (``None``: the ``text`` master field)."""

    def comments(issue: StoredIssue) -> str:
        return "\n".join(adf_to_text(c.body) or "" for c in issue.comments)

    if definition is None:
        return lambda issue: "\n".join(
            [
                issue.fields.get("summary") or "",
                adf_to_text(issue.fields.get("description")) or "",
                issue.fields.get("customfield_10050") or "",
                comments(issue),
            ]
        )
    if definition.id == "comment":
        return comments
    if definition.kind == "rich":
        return lambda issue: adf_to_text(issue.fields.get(definition.id)) or ""
    return lambda issue: issue.fields.get(definition.id) or ""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _text(clause: Clause, definition: FieldDef | None, errors: list[str]) -> Predicate:
    if clause.is_list or clause.operands[0].kind != "value":
        errors.append(
            f"The operator '{clause.operator}' does not support a list or function "
            f"for field '{clause.field}'."
        )
        return _never
    value = clause.operands[0].text
    phrases = [_words(p) for p in re.findall(r'"([^"]*)"', value)]
    rest = re.sub(r'"[^"]*"', " ", value)
    terms = [(w, False) for w in _words(re.sub(r"[\w]+\*", " ", rest))]
    terms += [(p[:-1].lower(), True) for p in re.findall(r"[\w]+\*", rest)]
    if not terms and not any(phrases):
        errors.append(f"The field '{clause.field}' does not support searching for an empty string.")
        return _never
    read = _text_of(definition)
    negative = clause.operator == "!~"

    def matches(issue: StoredIssue) -> bool:
        words = _words(read(issue))
        if not words:
            return False
        found = all(
            any(w.startswith(t) for w in words) if prefix else t in words for t, prefix in terms
        ) and all(_contains(words, p) for p in phrases if p)
        return found != negative

    return matches


def _contains(words: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


# -- ORDER BY ------------------------------------------------------------------------------------


def _sorter(key: SortKey, errors: list[str]) -> Callable[[StoredIssue], Any]:
    definition = by_clause(key.field)
    if definition is None:
        errors.append(
            f"Field '{key.field}' does not exist or you do not have permission to view it."
        )
        return lambda issue: 0
    kind = definition.kind
    if kind in ("readonly", "rich", "labels"):
        errors.append(f"Field '{key.field}' does not support sorting.")
        return lambda issue: 0
    if kind == "key":
        return lambda issue: (issue.project, issue.number)
    if kind == "priority":
        order = [p.name for p in PRIORITIES]
        return lambda issue: -order.index(issue.fields["priority"])
    if kind == "status":
        names = [s.name for s in STATUSES]
        return lambda issue: names.index(issue.fields["status"])
    getter = _getter(definition)

    def value(issue: StoredIssue) -> Any:
        held = getter(issue)
        if isinstance(held, str):
            held = held.lower()
        return (held is None, held if held is not None else 0)

    return value
