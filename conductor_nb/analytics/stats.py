"""Small statistics without pandas: the Wilson score interval of a proportion."""

from __future__ import annotations

import math
from statistics import NormalDist


def z_score(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (0.95 -> 1.95996...)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (got {confidence})")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / total``; (nan, nan) when total is 0.

    It stays inside [0, 1] and is sensible for small samples and rates near 0 or 1,
    where the normal approximation p +- z*sqrt(p(1-p)/n) is not."""
    if total <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be between 0 and total (got {successes}/{total})")
    z = z_score(confidence)
    p = successes / total
    z2n = z * z / total
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * math.sqrt(p * (1 - p) / total + z2n / (4 * total)) / (1 + z2n)
    return (max(0.0, centre - half), min(1.0, centre + half))
