"""A mergeable latency histogram with a bounded relative error on every quantile (DDSketch-style).

Values fall into logarithmic buckets ``gamma**(i-1) < v <= gamma**i`` with ``gamma = (1+a)/(1-a)``; a
quantile is read back as the bucket's midpoint estimate, within ``a`` relative error of the true value
whatever the distribution. Two sketches merge by adding bucket counts, so per-flush histograms from
many instances combine exactly; only non-empty buckets are kept (a few dozen for real latencies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

RELATIVE_ACCURACY = 0.01
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
# Durations below this (in the unit recorded, ms) count as zero: sub-microsecond timings are noise.
MIN_VALUE = 1e-3


def bucket_of(value: float) -> int:
    """The bucket index of ``value`` (0 holds everything <= ``MIN_VALUE``)."""
    if value <= MIN_VALUE:
        return 0
    return max(1, math.ceil(math.log(value / MIN_VALUE) / _LOG_GAMMA))


def bucket_value(index: int) -> float:
    """The estimate every value of bucket ``index`` is read back as (relative error <= accuracy)."""
    if index <= 0:
        return 0.0
    return MIN_VALUE * 2 * _GAMMA**index / (_GAMMA + 1)


@dataclass
class Sketch:
    """Bucket index -> count. ``add``, ``merge``, ``quantile``; serialised as a plain dict."""

    buckets: dict[int, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(self.buckets.values())

    def add(self, value: float, count: int = 1) -> None:
        index = bucket_of(value)
        self.buckets[index] = self.buckets.get(index, 0) + count

    def merge(self, other: Sketch) -> None:
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count

    def quantile(self, q: float) -> float | None:
        """The value at quantile ``q`` (0..1), or None when empty. Rank as numpy's 'lower' method."""
        total = self.count
        if total == 0:
            return None
        rank = q * (total - 1)
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen > rank:
                return bucket_value(index)
        return bucket_value(max(self.buckets))

    def to_json(self) -> dict[str, int]:
        return {str(i): c for i, c in self.buckets.items()}

    @classmethod
    def from_json(cls, data: dict[str, int]) -> Sketch:
        return cls({int(i): int(c) for i, c in data.items()})
