"""Small statistics: the Wilson score interval of a proportion, written once for one
count (plain floats, no numpy: ``import conductor_nb.analytics`` stays light) and for
arrays of counts (the frames' groups)."""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

__all__ = ["wilson", "wilson_arrays", "z_score"]


def z_score(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (0.95 -> 1.95996...)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (got {confidence})")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _wilson(k: Any, n: Any, z: float, sqrt: Callable[[Any], Any]) -> tuple[Any, Any, Any]:
    """Rate, and the interval's ends before clipping to [0, 1]: arithmetic only, so the
    same lines serve floats (``math.sqrt``) and numpy arrays (``np.sqrt``)."""
    p = k / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z * sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    return p, centre - half, centre + half


def wilson(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / total``; (nan, nan) when total is 0.

    It stays inside [0, 1] and is sensible for small samples and rates near 0 or 1,
    where the normal approximation p +- z*sqrt(p(1-p)/n) is not."""
    if total <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be between 0 and total (got {successes}/{total})")
    _, low, high = _wilson(successes, total, z_score(confidence), math.sqrt)
    return (max(0.0, low), min(1.0, high))


def wilson_arrays(successes: Any, totals: Any, confidence: float = 0.95) -> tuple[Any, Any, Any]:
    """Rates and Wilson score intervals of arrays of counts (NaN where the total is 0)."""
    import numpy as np  # here: the scalar interval needs no numpy

    k = np.asarray(successes, dtype=float)
    n = np.asarray(totals, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p, low, high = _wilson(k, n, z_score(confidence), np.sqrt)
    return p, np.clip(low, 0, 1), np.clip(high, 0, 1)
