"""The demo chain's static tables: stores, staff and services, plus the lookups the
per-chunk simulation needs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from demo.archetypes import _BOOKINGS_PER_CUSTOMER_DAY, _PEAK_HEADROOM
from demo.arrays import _names
from demo.catalog import (
    _BRANDS,
    _DEFAULT_STORES,
    _MORE_CITIES,
    _SERVICE_ROLE,
    _SERVICES,
    _STORE_WEIGHT,
    CNY_PER_TWD,
    GROOMER,
    KINDS,
    NAILS,
    SALON,
    SERVICE_COLUMNS,
    STAFF_COLUMNS,
    STORE_COLUMNS,
)


@dataclass(frozen=True)
class _Chain:
    """Static tables plus the numpy lookups the per-chunk generator needs."""

    stores: pd.DataFrame
    staff: pd.DataFrame
    services: pd.DataFrame
    store_kind: np.ndarray  # by store index
    store_country: np.ndarray  # 0 TW, 1 CN
    store_weight: np.ndarray
    staff_table: np.ndarray  # [store index, k] service staff ids, padded
    staff_count: np.ndarray
    service_ids: dict[tuple[int, int], np.ndarray]  # (kind, country) -> service ids
    service_weights: dict[tuple[int, int], np.ndarray]
    service_price: np.ndarray  # indexed by service_id
    service_category: np.ndarray  # indexed by service_id
    cross_candidates: list[np.ndarray]  # per store index: store indices for cross-store visits
    treat_candidates: list[np.ndarray]  # per pet store index: beauty stores for owners' own visits


def _build_chain(rng: np.random.Generator, n_stores: int, n_customers: int) -> _Chain:
    if n_stores < 1:
        raise ValueError("n_stores must be at least 1")
    rows = []
    prefix_count: dict[str, int] = {}
    for i in range(n_stores):
        if i < len(_DEFAULT_STORES):
            prefix, city, country, tz, kind, name = _DEFAULT_STORES[i]
        else:
            kind = i % 4
            prefix, city, country, tz, zh_city = _MORE_CITIES[(i - 4) % len(_MORE_CITIES)]
            brand = _BRANDS[kind][country == "CN"]
            nth = (i - 4) // len(_MORE_CITIES)
            name = f"{brand}{zh_city}{'' if nth == 0 else nth + 1}店"
        prefix_count[prefix] = prefix_count.get(prefix, 0) + 1
        rows.append(
            {
                "store_id": i + 1,
                "code": f"{prefix}{prefix_count[prefix]:02d}",
                "name": name,
                "city": city,
                "timezone": tz,
                "kind": KINDS[kind],
                "currency": "CNY" if country == "CN" else "TWD",
                "country": country,
                "_kind": kind,
            }
        )
    stores = pd.DataFrame(rows)
    store_kind = stores["_kind"].to_numpy()
    store_country = (stores["country"] == "CN").to_numpy().astype(int)
    weight = _STORE_WEIGHT[store_kind] * rng.uniform(0.8, 1.2, n_stores)
    weight = weight / weight.sum()

    # Staff sized to the expected load so utilisation KPIs look plausible at any scale.
    daily = weight * n_customers * 0.6 / 35 * 1.15
    n_service = np.clip(np.ceil(daily / 7), 3, 60).astype(int)
    # Capacity (appointments a day) follows the bookings the chunks actually generate (about
    # 0.0275 per customer a day chain-wide, measured at 2,000 and 5,000 customers) with room for
    # busy days, so the 90-day forecast sits under it on an ordinary day; sized from the staff
    # above (7 each) it was a third of the volume and the forecast said 82 of 90 days were over.
    # (The staff count itself stays: it drives the world's random draws.)
    volume = weight * n_customers * _BOOKINGS_PER_CUSTOMER_DAY * _PEAK_HEADROOM
    stores["daily_capacity"] = np.maximum(n_service * 7, np.ceil(volume / 7) * 7).astype(int)
    staff_rows = []
    staff_table = np.zeros((n_stores, int(n_service.max())), dtype=np.int64)
    for s in range(n_stores):
        roles = ["manager", "front_desk"] + [_SERVICE_ROLE[int(store_kind[s])]] * int(n_service[s])
        names = _names(rng, np.full(len(roles), store_country[s]), rng.random(len(roles)) < 0.7)
        for role, nm in zip(roles, names, strict=False):
            staff_rows.append({"staff_id": len(staff_rows) + 1, "store_id": s + 1, "name": nm, "role": role})
            if role not in ("manager", "front_desk"):
                staff_table[s, (staff_table[s] > 0).sum()] = len(staff_rows)
    staff = pd.DataFrame(staff_rows, columns=list(STAFF_COLUMNS))

    service_rows = []
    service_ids: dict[tuple[int, int], np.ndarray] = {}
    service_weights: dict[tuple[int, int], np.ndarray] = {}
    for kind, country in sorted({(int(k), int(c)) for k, c in zip(store_kind, store_country, strict=False)}):
        ids, ws = [], []
        for k, trad, simp, category, price, minutes, cycle, w in _SERVICES:
            if k != kind:
                continue
            local = price if country == 0 else max(5 * round(price * CNY_PER_TWD / 5), 5)
            service_rows.append(
                {
                    "service_id": len(service_rows) + 1,
                    "kind": KINDS[kind],
                    "name": simp if country else trad,
                    "category": category,
                    "price": float(local),
                    "duration_min": minutes,
                    "typical_cycle_days": cycle,
                }
            )
            ids.append(len(service_rows))
            ws.append(w)
        service_ids[(kind, country)] = np.array(ids)
        service_weights[(kind, country)] = np.array(ws) / sum(ws)
    services = pd.DataFrame(service_rows, columns=list(SERVICE_COLUMNS))
    price = np.concatenate([[0.0], services["price"].to_numpy(float)])
    category = np.concatenate([[""], services["category"].to_numpy(object)]).astype(object)

    # Cross-store visits go to a same-kind store in the same country, else to the other beauty
    # kind (salon <-> nails); adoption customers stay home because their plan is store-bound.
    family = np.where(np.isin(store_kind, (SALON, NAILS)), 0, np.where(store_kind == GROOMER, 1, 2))
    cross = []
    for s in range(n_stores):
        others = np.flatnonzero((np.arange(n_stores) != s) & (store_country == store_country[s]))
        same = others[store_kind[others] == store_kind[s]]
        fam = others[(family[others] == family[s]) & (family[others] < 2)]
        cross.append(same if same.size else (fam if family[s] < 2 else np.array([], dtype=int)))
    treat = [
        np.flatnonzero((store_country == store_country[s]) & (family == 0))
        if family[s] > 0
        else np.array([], dtype=int)
        for s in range(n_stores)
    ]

    return _Chain(
        stores=stores[list(STORE_COLUMNS)],
        staff=staff,
        services=services,
        store_kind=store_kind,
        store_country=store_country,
        store_weight=weight,
        staff_table=staff_table,
        staff_count=n_service,
        service_ids=service_ids,
        service_weights=service_weights,
        service_price=price,
        service_category=category,
        cross_candidates=cross,
        treat_candidates=treat,
    )
