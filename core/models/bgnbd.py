"""BG/NBD (beta-geometric / negative binomial) model, fitted by maximum likelihood.

Fader, Hardie & Lee (2005), "Counting your customers the easy way". While alive a customer
buys as a Poisson process with rate ``λ ~ Gamma(r, α)``; after each purchase she drops out with
probability ``p ~ Beta(a, b)``. Calibration data per customer: ``frequency`` x (repeat purchase
days), ``recency`` t_x (time of the last purchase since the first) and ``T`` (age: time since
the first purchase); in Revisit the unit is days.

Formulas (all vectorised over customers):

- log-likelihood ``ln L = A1 + A2 + ln(exp(A3) + [x > 0] exp(A4))`` with
  ``A1 = lnΓ(r+x) − lnΓ(r) + r ln α``, ``A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)``,
  ``A3 = −(r+x) ln(α+T)``, ``A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x)``;
- ``P(alive | x, t_x, T) = 1 / (1 + [x > 0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x))``;
- expected purchases in ``(T, T+t]``:
  ``(a+b+x−1)/(a−1) [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] / (1 + [x>0] a/(b+x−1) ((α+T)/(α+t_x))^(r+x))``;
- P(no purchase in ``(T, T+t]``): a customer who is alive at ``T`` cannot drop out before her
  next purchase (drop-out happens only right after a purchase), so given alive the count in
  ``(T, T+t]`` is Poisson(λt) with λ's posterior (given alive) ``Gamma(r+x, α+T)``; hence
  ``P(0 | alive) = ((α+T)/(α+T+t))^(r+x)`` and
  ``P(none) = 1 − P(alive) + P(alive) · ((α+T)/(α+T+t))^(r+x)``.

Quirk: with ``x = 0`` (a single purchase day) the model says ``P(alive) = 1`` however long ago
that purchase was (there was no drop-out opportunity). ``P(none)`` still grows with ``T`` through
the λ posterior, but one-visit customers are scored optimistically; the boosting model does not
share this quirk.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from scipy import optimize, special
from sklearn.base import BaseEstimator

from core.columns import VISIT_STATUS, require_columns
from core.params import AsOf, day_number, day_numbers, visits_as_of

__all__ = ["BGNBD_SUMMARY_COLUMNS", "BetaGeoModel", "bgnbd_summary", "simulate_bgnbd"]

#: Columns of :func:`bgnbd_summary`.
BGNBD_SUMMARY_COLUMNS: Final = ("customer_id", "frequency", "recency", "T")


def _as_arrays(x: object, t_x: object, big_t: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(big_t, dtype=float))


def _log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, weights: np.ndarray
) -> float:
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    return float(np.sum(weights * (a1 + a2 + np.logaddexp(a3, a4))))


class BetaGeoModel(BaseEstimator):
    """BG/NBD model with scikit-learn conventions.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the parameters (``penalizer · Σ θ²``, as in lifetimes); 0 is plain maximum
        likelihood.
    max_rows : int or None
        Fit on at most this many customers (a seeded random sample); the likelihood is smooth, so
        200,000 customers pin the four parameters as well as millions.
    random_state : int
        Seed of the sample above.

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Fitted parameters (time unit of the input, here days).
    log_likelihood_ : float
        Mean log-likelihood per customer at the optimum.
    n_customers_ : int
        Customers the fit used.
    """

    def __init__(self, penalizer: float = 0.0, max_rows: int | None = 200_000, random_state: int = 0) -> None:
        self.penalizer = penalizer
        self.max_rows = max_rows
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, frequency: object, recency: object, T: object, weights: object = None) -> BetaGeoModel:  # noqa: N803
        """Maximise the log-likelihood over ``log(r, α, a, b)``.

        Parameters
        ----------
        frequency, recency, T : array-like
            Repeat purchase count ``x``, time of the last purchase ``t_x`` and age ``T``.
        weights : array-like, optional
            Customers per row (for pre-aggregated data).

        Returns
        -------
        BetaGeoModel
            ``self``.
        """
        x, t_x, big_t = _as_arrays(frequency, recency, T)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        if not (x.shape == t_x.shape == big_t.shape == w.shape) or x.size == 0:
            raise ValueError("frequency, recency and T must be non-empty arrays of one length")
        if np.any(x < 0) or np.any(t_x < 0) or np.any(big_t < t_x - 1e-9) or np.any((x == 0) & (t_x > 0)):
            raise ValueError("need x >= 0, 0 <= recency <= T and recency = 0 when frequency = 0")
        if self.max_rows is not None and x.size > self.max_rows:
            pick = np.sort(np.random.default_rng(self.random_state).choice(x.size, self.max_rows, replace=False))
            x, t_x, big_t, w = x[pick], t_x[pick], big_t[pick], w[pick]
        total = float(w.sum())

        def objective(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            ll = _log_likelihood(params, x, t_x, big_t, w) / total
            return -ll + self.penalizer * float(np.sum(params**2))

        scale = max(float(np.average(big_t, weights=w)), 1.0)
        start = np.log(np.array([1.0, scale, 1.0, 1.0]))
        best = None
        # Two starts guard against the flat ridge in (a, b) that single-start fits sometimes stop on.
        for x0 in (start, start + np.array([-1.0, 0.0, -0.5, 0.5])):
            res = optimize.minimize(objective, x0, method="L-BFGS-B", options={"maxiter": 2000})
            res = optimize.minimize(
                objective, res.x, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10}
            )
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(best.x))
        self.log_likelihood_ = float(-best.fun)
        self.n_customers_ = int(x.size)
        return self

    @property
    def params_(self) -> dict[str, float]:
        """Fitted parameters as a dict ``{r, alpha, a, b}``."""
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}

    # ------------------------------------------------------------------ predictions
    def _odds_dead(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        out = np.zeros_like(x)
        rep = x > 0
        log_ratio = (r + x[rep]) * (np.log(alpha + big_t[rep]) - np.log(alpha + t_x[rep]))
        out[rep] = a / (b + x[rep] - 1) * np.exp(np.minimum(log_ratio, 700.0))
        return out

    def conditional_probability_alive(self, frequency: object, recency: object, T: object) -> np.ndarray:  # noqa: N803
        """``P(alive | x, t_x, T)``; 1 for ``x = 0`` (the model's quirk, see the module doc)."""
        x, t_x, big_t = _as_arrays(frequency, recency, T)
        return 1.0 / (1.0 + self._odds_dead(x, t_x, big_t))

    def conditional_expected_purchases(self, t: float, frequency: object, recency: object, T: object) -> np.ndarray:  # noqa: N803
        """Expected purchases in ``(T, T + t]`` given the history."""
        x, t_x, big_t = _as_arrays(frequency, recency, T)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = t / (alpha + big_t + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        first = (a + b + x - 1) / (a - 1)
        second = 1.0 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp
        out = first * second / (1.0 + self._odds_dead(x, t_x, big_t))
        return np.maximum(out, 0.0)

    def probability_no_purchase(self, t: float, frequency: object, recency: object, T: object) -> np.ndarray:  # noqa: N803
        """``P(no purchase in (T, T + t])`` = ``1 − P(alive) + P(alive) · ((α+T)/(α+T+t))^(r+x)``."""
        x, t_x, big_t = _as_arrays(frequency, recency, T)
        p_alive = self.conditional_probability_alive(x, t_x, big_t)
        return 1.0 - p_alive + p_alive * self.probability_no_purchase_if_alive(t, x, big_t)

    def probability_no_purchase_if_alive(self, t: float, frequency: object, T: object) -> np.ndarray:  # noqa: N803
        """``P(no purchase in (T, T + t] | alive at T) = ((α+T)/(α+T+t))^(r+x)``."""
        x = np.asarray(frequency, dtype=float)
        big_t = np.asarray(T, dtype=float)
        return ((self.alpha_ + big_t) / (self.alpha_ + big_t + t)) ** (self.r_ + x)

    def expected_purchases_new(self, t: object) -> np.ndarray:
        """``E[X(t)]`` for a customer just acquired (unconditional)."""
        t = np.asarray(t, dtype=float)
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp)

    def predict_frame(self, summary: pd.DataFrame, *, horizon_days: float) -> pd.DataFrame:
        """``p_alive``, ``churn_risk`` (P(no visit in the horizon)) and ``expected_visits``.

        Parameters
        ----------
        summary : DataFrame
            :data:`BGNBD_SUMMARY_COLUMNS` (from :func:`bgnbd_summary`).
        horizon_days : float

        Returns
        -------
        DataFrame
            ``customer_id``, ``p_alive``, ``churn_risk``, ``expected_visits``,
            ``p_none_if_alive`` (P(no visit | alive)), one row per summary row.
        """
        require_columns(summary, BGNBD_SUMMARY_COLUMNS, what="BG/NBD summary")
        x, t_x, big_t = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        p_alive = self.conditional_probability_alive(x, t_x, big_t)
        p0 = self.probability_no_purchase_if_alive(horizon_days, x, big_t)
        return pd.DataFrame(
            {
                "customer_id": summary["customer_id"].to_numpy(),
                "p_alive": p_alive,
                "churn_risk": 1.0 - p_alive + p_alive * p0,
                "expected_visits": self.conditional_expected_purchases(horizon_days, x, t_x, big_t),
                "p_none_if_alive": p0,
            }
        )


def bgnbd_summary(bookings: pd.DataFrame, *, as_of: AsOf) -> pd.DataFrame:
    """Calibration summary per customer from the visits up to the end of ``as_of``.

    Parameters
    ----------
    bookings : DataFrame
        ``customer_id``, ``scheduled_at``, ``status``. Visits are ``completed`` bookings; several
        on one day count as one purchase day.
    as_of : date-like

    Returns
    -------
    DataFrame
        :data:`BGNBD_SUMMARY_COLUMNS`: ``frequency`` = visit days − 1, ``recency`` = days from the
        first to the last visit day, ``T`` = days from the first visit day to the as-of day.
        One row per customer with a visit, sorted by ``customer_id``.
    """
    visits = visits_as_of(bookings, as_of, columns=("customer_id", "scheduled_at", "status"))
    visits = visits.loc[visits["status"].eq(VISIT_STATUS).to_numpy()]
    frame = pd.DataFrame({"customer_id": visits["customer_id"].to_numpy(), "day": day_numbers(visits["scheduled_at"])})
    frame = frame.drop_duplicates()
    g = frame.groupby("customer_id", sort=True)["day"]
    out = g.agg(["size", "min", "max"])
    today = day_number(as_of)
    return pd.DataFrame(
        {
            "customer_id": out.index.to_numpy(),
            "frequency": (out["size"] - 1).to_numpy(dtype=float),
            "recency": (out["max"] - out["min"]).to_numpy(dtype=float),
            "T": (today - out["min"]).to_numpy(dtype=float),
        }
    )


def simulate_bgnbd(
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | np.ndarray,  # noqa: N803
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate calibration data from the BG/NBD process itself (for parameter-recovery tests).

    Parameters
    ----------
    n : int
        Customers.
    r, alpha, a, b : float
        True parameters.
    T : float or array
        Observation length per customer (same unit as ``alpha``).
    seed : int

    Returns
    -------
    DataFrame
        ``frequency``, ``recency``, ``T``, one row per customer.
    """
    rng = np.random.default_rng(seed)
    big_t = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    t = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t_next = t[idx] + rng.exponential(1.0 / lam[idx])
        inside = t_next <= big_t[idx]
        done = idx[~inside]
        alive[done] = False
        got = idx[inside]
        t[got] = t_next[inside]
        x[got] += 1
        t_x[got] = t[got]
        # Drop out right after the purchase with probability p.
        alive[got[rng.random(got.size) < p[got]]] = False
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": big_t})
