"""Why a promotion would be unwelcome to a customer now (the contact policy's ``risk`` step: the
retention variant, or nothing).

Two kinds of signal count. Those kept on the profile (``churn_risk``, ``open_complaints``, ``last_nps``
with ``last_nps_at``), which imports and feedback write. And those other apps know from their own rows,
registered with :func:`signal_with` in their ``AppConfig.ready``: the inbox tells of a customer whose
problem is still open, or who complained lately (docs/development/extension-points.md). The first reason
found is the one the decision trail shows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

# The attributes of a profile that can make it risky; a profile without any needs no reading.
RISK_KEYS = ["churn_risk", "open_complaints", "last_nps"]
# A detractor's score stops counting after this long.
DETRACTOR_MEMORY = timedelta(days=90)

# Of the customers given, those at risk now, each with its reason ("open_ticket", "recent_complaint").
RiskSignal = Callable[[Collection[int], datetime], dict[int, str]]
SIGNALS: list[RiskSignal] = []


def signal_with(signal: RiskSignal) -> None:
    """Register a source of risk (in ``AppConfig.ready``); it is asked only of customers no earlier
    signal has named, one batch at a time."""
    if signal not in SIGNALS:
        SIGNALS.append(signal)


def of_attributes(attributes: dict[str, Any], now: datetime) -> str:
    """The reason the profile's own signals give, or ""."""
    if attributes.get("churn_risk") in {True, "true", "yes"}:
        return "churn_risk"
    complaints = attributes.get("open_complaints")
    if isinstance(complaints, int) and complaints > 0:
        return "open_complaint"
    score, when = attributes.get("last_nps"), attributes.get("last_nps_at")
    if isinstance(score, int) and score <= 6:
        try:
            at = datetime.fromisoformat(str(when)) if when else None
        except ValueError:
            at = None
        if at is None or (at.tzinfo is not None and now - at <= DETRACTOR_MEMORY):
            return "detractor"
    return ""


def signalled(customer_ids: Collection[int], now: datetime) -> dict[int, str]:
    """What the registered signals say of these customers: {customer id: reason} for those at risk."""
    found: dict[int, str] = {}
    for signal in SIGNALS:
        left = [cid for cid in customer_ids if cid not in found]
        if not left:
            break
        found.update((cid, reason) for cid, reason in signal(left, now).items() if cid not in found)
    return found


def risk_of(customer_id: int, attributes: dict[str, Any], now: datetime) -> str:
    """The reason one customer is at risk now (the profile's signals first), or ""."""
    return of_attributes(attributes, now) or signalled([customer_id], now).get(customer_id, "")
