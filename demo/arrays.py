"""Small vectorised numpy helpers of the demo generator (ragged segments, codes, timestamps)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.catalog import _GIVEN, _SURNAMES_CN, _SURNAMES_TW


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Owner index, position within owner and segment starts for ``counts`` (all ≥ 1)."""
    starts = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(counts)), counts)
    pos = np.arange(int(counts.sum())) - starts[owner]
    return owner, pos, starts


def _seg_cumsum(x: np.ndarray, owner: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at every segment."""
    total = np.cumsum(x)
    return total - (total[starts] - x[starts])[owner]


def _codes(prefix: str, values: np.ndarray, width: int, alphabet: str = "0123456789") -> np.ndarray:
    """``prefix`` + fixed-width digits of ``values`` in ``alphabet``'s base, as a str array."""
    base = len(alphabet)
    values = np.asarray(values, dtype=np.int64)
    powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers) % base
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    chars = np.empty((len(values), len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars[:, len(prefix) :] = table[digits]
    return chars.view(f"S{chars.shape[1]}").ravel().astype(str).astype(object)


def _random_codes(rng: np.random.Generator, prefix: str, n: int, width: int, alphabet: str) -> np.ndarray:
    """Random fixed-width tokens (LINE ids, WeChat openids)."""
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    chars = np.empty((n, len(prefix) + width), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars[:, len(prefix) :] = table[rng.integers(0, len(table), size=(n, width))]
    return chars.view(f"S{chars.shape[1]}").ravel().astype(str).astype(object)


def _days_to_ts(origin: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Float days after ``origin`` → datetime64[ns] rounded to the minute."""
    minutes = np.round(np.asarray(days, dtype=np.float64) * 1440.0).astype(np.int64)
    return (origin + minutes.astype("timedelta64[m]")).astype("datetime64[ns]")


def _days_to_date(origin: np.datetime64, days: np.ndarray) -> np.ndarray:
    """Float days after ``origin`` → midnight datetime64[ns] of that day."""
    return (origin + np.floor(days).astype(np.int64).astype("timedelta64[D]")).astype("datetime64[ns]")


def _int64_na(values: np.ndarray, missing: np.ndarray) -> pd.arrays.IntegerArray:
    """Nullable ``Int64`` array, ``<NA>`` where ``missing``."""
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), np.asarray(missing, bool))


def _names(rng: np.random.Generator, country: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Realistic Chinese full names: surname + one or two given-name characters."""
    n = len(country)
    out = np.empty(n, dtype=object)
    for c, (chars, weights) in enumerate((_SURNAMES_TW, _SURNAMES_CN)):
        for fem in (True, False):
            idx = np.flatnonzero((country == c) & (female == fem))
            if idx.size == 0:
                continue
            w = np.asarray(weights, float)
            sur = np.array(list(chars), dtype=object)[rng.choice(len(chars), idx.size, p=w / w.sum())]
            given = np.array(list(_GIVEN[(c, fem)]), dtype=object)
            g1 = given[rng.integers(0, len(given), idx.size)]
            g2 = given[rng.integers(0, len(given), idx.size)]
            two = rng.random(idx.size) < 0.85
            out[idx] = sur + g1 + np.where(two, g2, "")
    return out


def _empty_like(frame: pd.DataFrame) -> pd.DataFrame:
    """Zero rows, same columns and dtypes."""
    return frame.iloc[0:0].copy()
