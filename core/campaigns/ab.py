"""Deterministic random splits: A/B variants and the holdout group.

A customer's arm is a hash of (salt, campaign, customer): the same on every tick, in every
worker process and after a restart, and independent between campaigns. Holdout and variant use
different salts, so the variant mix inside the sent group is the same as inside the holdout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

_SCALE = float(2**64)


def unit_hash(salt: str, campaign_id: int, customer_ids: Sequence[int] | np.ndarray | pd.Series) -> np.ndarray:
    """A uniform number in [0, 1) per customer, fixed for (salt, campaign, customer)."""
    out = np.empty(len(customer_ids), dtype=float)
    for i, customer_id in enumerate(np.asarray(customer_ids)):
        digest = hashlib.blake2b(f"{salt}:{campaign_id}:{int(customer_id)}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big") / _SCALE
    return out


def holdout_mask(
    customer_ids: Sequence[int] | np.ndarray | pd.Series, *, campaign_id: int, holdout_pct: float
) -> np.ndarray:
    """True for customers in the campaign's random holdout (``holdout_pct`` percent of them)."""
    if not 0 <= holdout_pct <= 100:
        raise ValueError("holdout_pct must be between 0 and 100")
    return unit_hash("holdout", campaign_id, customer_ids) < holdout_pct / 100.0


def assign_variants(
    customer_ids: Sequence[int] | np.ndarray | pd.Series, *, campaign_id: int, variants: Sequence[tuple[str, float]]
) -> np.ndarray:
    """The variant key of each customer, split by the (normalised) weights.

    Parameters
    ----------
    variants : sequence of (key, weight)
        e.g. ``[("A", 0.5), ("B", 0.5)]``; weights need not sum to 1.
    """
    if not variants:
        raise ValueError("a campaign needs at least one variant")
    keys = [key for key, _ in variants]
    weights = np.array([max(float(w), 0.0) for _, w in variants])
    if weights.sum() <= 0:
        weights = np.ones(len(keys))
    edges = np.cumsum(weights / weights.sum())
    edges[-1] = 1.0
    u = unit_hash("variant", campaign_id, customer_ids)
    index = np.searchsorted(edges, u, side="right")
    return np.asarray(keys, dtype=object)[np.minimum(index, len(keys) - 1)]
