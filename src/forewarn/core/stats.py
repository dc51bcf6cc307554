"""Small statistics every report shares: a proportion with an honest margin of error."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959964


@dataclass(frozen=True)
class Proportion:
    hits: int
    total: int
    low: float  # the 95 % Wilson interval: right for small samples and for shares near 0 or 1
    high: float

    @property
    def share(self) -> float | None:
        return self.hits / self.total if self.total else None


def wilson(hits: int, total: int, z: float = Z_95) -> Proportion:
    if total <= 0:
        return Proportion(0, 0, 0.0, 1.0)
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return Proportion(hits, total, max(0.0, centre - half), min(1.0, centre + half))
