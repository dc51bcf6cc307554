"""Trigger conditions: declarative, stored as JSON, checked before anything is planned.

A trigger's conditions are a list; all must hold. Each is either a comparison on a path::

    {"path": "payload.delay_minutes", "op": "gte", "value": 30}
    {"path": "customer.segments", "op": "contains", "value": "vip"}
    {"path": "customer.attributes.plan", "op": "in", "value": ["pro", "business"]}

or a question about the customer's history of events (the current event included)::

    {"history": {"type": "product_viewed", "same": ["product_id"], "within_days": 7, "min": 3}}
    {"history": {"type": "bill_issued", "max": 1}}          # the first bill

Paths start at ``payload``, ``event`` (type, source, occurred_at) or ``customer`` (language, city,
segments, attributes, risk). Conditions are checked when saved, so a rule that cannot be read never
reaches the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _

from forewarn.core.errors import FieldError

_MISSING = object()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare(fn: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        a, b = _number(actual), _number(expected)
        if a is None or b is None:
            return False
        return fn(a, b)

    return check


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list | tuple | set | frozenset):
        return expected in actual
    if isinstance(actual, str) and isinstance(expected, str):
        return expected.casefold() in actual.casefold()
    return False


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": _compare(lambda a, b: a > b),
    "gte": _compare(lambda a, b: a >= b),
    "lt": _compare(lambda a, b: a < b),
    "lte": _compare(lambda a, b: a <= b),
    "in": lambda a, b: isinstance(b, list) and a in b,
    "not_in": lambda a, b: isinstance(b, list) and a not in b,
    "contains": _contains,
    "exists": lambda a, b: (a is not _MISSING and a is not None) == bool(b),
}
ROOTS = ("payload", "event", "customer")


def resolve(path: str, scope: Mapping[str, Any]) -> Any:
    """The value at a dotted path, or a marker that nothing is there."""
    value: Any = scope
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


HistoryCounter = Callable[[str, dict[str, Any], timedelta | None], int]


def matches(conditions: list[dict[str, Any]], scope: Mapping[str, Any], history: HistoryCounter) -> bool:
    """Whether every condition holds. ``history(type, same_payload, within)`` counts the customer's
    events of a type whose payload agrees with ``same_payload``, within a period before the event."""
    for condition in conditions:
        if "history" in condition:
            spec = condition["history"]
            payload = scope.get("payload", {})
            same = {key: payload.get(key) for key in spec.get("same", [])}
            within = timedelta(days=spec["within_days"]) if spec.get("within_days") else None
            count = history(spec["type"], same, within)
            if "min" in spec and count < spec["min"]:
                return False
            if "max" in spec and count > spec["max"]:
                return False
            continue
        actual = resolve(condition["path"], scope)
        op = OPERATORS[condition.get("op", "eq")]
        if condition.get("op") != "exists" and actual is _MISSING:
            return False
        if not op(actual, condition.get("value")):
            return False
    return True


def check_conditions(raw: Any, path: str = "conditions") -> list[FieldError]:
    """Every reason a list of conditions cannot be read, with the path of the part at fault."""
    if not isinstance(raw, list):
        return [FieldError(path, "not_a_list", _("Conditions must be a list."))]
    errors: list[FieldError] = []
    for i, condition in enumerate(raw):
        where = f"{path}.{i}"
        if not isinstance(condition, dict):
            errors.append(FieldError(where, "not_an_object", _("Each condition must be an object.")))
            continue
        if "history" in condition:
            errors.extend(_check_history(condition["history"], f"{where}.history"))
            continue
        target = condition.get("path")
        if not isinstance(target, str) or target.split(".")[0] not in ROOTS:
            errors.append(
                FieldError(
                    f"{where}.path",
                    "unknown_path",
                    _("A path starts with payload, event or customer (such as payload.order_id)."),
                )
            )
        op = condition.get("op", "eq")
        if op not in OPERATORS:
            errors.append(
                FieldError(
                    f"{where}.op",
                    "unknown_operator",
                    _("Unknown operator; use one of %(ops)s.") % {"ops": ", ".join(OPERATORS)},
                )
            )
        elif op in {"in", "not_in"} and not isinstance(condition.get("value"), list):
            errors.append(FieldError(f"{where}.value", "not_a_list", _("This operator needs a list.")))
    return errors


def _check_history(spec: Any, where: str) -> list[FieldError]:
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str) or not spec["type"]:
        return [FieldError(f"{where}.type", "required", _("Name the event type to count."))]
    errors = []
    for key in ("min", "max", "within_days"):
        if key in spec and (not isinstance(spec[key], int) or isinstance(spec[key], bool) or spec[key] < 0):
            errors.append(
                FieldError(f"{where}.{key}", "not_a_count", _("Must be a whole number, 0 or more."))
            )
    same = spec.get("same", [])
    if not isinstance(same, list) or not all(isinstance(k, str) for k in same):
        errors.append(FieldError(f"{where}.same", "not_a_list", _("A list of payload keys.")))
    if "min" not in spec and "max" not in spec:
        errors.append(FieldError(where, "no_bound", _("Say min, max or both.")))
    return errors
