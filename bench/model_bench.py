"""Time the predictive models at chain scale (default: 1,000,000 customers).

    PYTHONPATH=. .venv/bin/python bench/model_bench.py [--customers 1000000] [--chunk 50000]

Generates the demo chain chunk by chunk (keeping only the columns the models read), then times:
churn training (backtest + production fit), churn scoring of every customer (features + model +
P(alive) / expected visits), reason codes for the at-risk customers, the no-show model (fit +
scoring of upcoming bookings) and the Prophet forecast of every store. Prints a Markdown table
(paste it into bench/README.md under "Models").
"""
from __future__ import annotations

import argparse
import platform
import time
from datetime import date

import pandas as pd

from core.models.churn import fit_churn_models, predict_churn
from core.models.features import churn_features, prepare_history
from core.models.forecast import daily_store_demand, forecast_store_demand
from core.models.noshow import fit_noshow_model, noshow_risk
from core.models.reasons import explain_churn
from demo.world import iter_world_chunks

BOOKING_COLUMNS = ("booking_id", "customer_id", "store_id", "pet_id", "service_category", "designated",
                   "created_at", "scheduled_at", "status", "amount", "addon_amount", "channel", "deposit")


def _generate(n_customers: int, chunk: int, seed: int, end_date: date) -> tuple[pd.DataFrame, ...]:
    bookings, customers, feedback, stores = [], [], [], None
    for world in iter_world_chunks(n_customers=n_customers, chunk_customers=chunk, seed=seed, end_date=end_date):
        if stores is None:
            stores = world.stores
        chunk_b = world.bookings.loc[:, list(BOOKING_COLUMNS)]
        for column in ("status", "channel", "service_category"):  # a chain's loader would do the same
            chunk_b[column] = chunk_b[column].astype("category")
        bookings.append(chunk_b)
        customers.append(world.customers.loc[:, ["customer_id", "home_store_id"]])
        feedback.append(world.feedback.loc[:, ["booking_id", "complaint", "rating"]])
    assert stores is not None
    return (pd.concat(bookings, ignore_index=True).astype(
                {c: "category" for c in ("status", "channel", "service_category")}), pd.concat(customers, ignore_index=True),
            pd.concat(feedback, ignore_index=True), stores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-forecast", action="store_true")
    args = parser.parse_args()
    end = date(2026, 11, 22)
    as_of = pd.Timestamp(end)
    rows: list[tuple[str, float, str]] = []

    t = time.perf_counter()
    bookings, customers, feedback, stores = _generate(args.customers, args.chunk, args.seed, end)
    rows.append(("generate demo chain (not a model cost)", time.perf_counter() - t,
                 f"{len(customers):,} customers, {len(bookings):,} bookings"))

    t = time.perf_counter()
    report = fit_churn_models(bookings, customers, as_of=as_of, feedback=feedback, stores=stores)
    rows.append(("churn: train (backtest + production fit)", time.perf_counter() - t,
                 f"chosen {report.chosen}; AUC gbm {report.auc('gbm'):.3f} vs BG/NBD {report.auc('bgnbd'):.3f}"))

    t = time.perf_counter()
    history = prepare_history(bookings, customers, as_of=as_of, feedback=feedback, stores=stores)
    feats = churn_features(history, as_of=as_of)
    scores = predict_churn(report, feats)
    rows.append(("churn: score every customer", time.perf_counter() - t,
                 f"{len(scores):,} customers; mean risk {scores['churn_risk'].mean():.3f}"))

    t = time.perf_counter()
    recent = feats.loc[feats["recency_days"].to_numpy() <= 365]
    reasons = explain_churn(report, recent, min_risk=0.5)
    rows.append(("churn: reason codes (at-risk, seen in 365 d)", time.perf_counter() - t, f"{len(reasons):,} customers"))

    t = time.perf_counter()
    ns = fit_noshow_model(bookings, as_of=as_of)
    rows.append(("no-show: train + backtest", time.perf_counter() - t,
                 f"AUC {ns.auc('gbm'):.3f} vs previous-no-show {ns.auc('previous_noshow'):.3f}"))
    t = time.perf_counter()
    risks = noshow_risk(bookings, as_of=as_of, report=ns)
    rows.append(("no-show: score upcoming bookings", time.perf_counter() - t, f"{len(risks):,} bookings"))

    if not args.skip_forecast:
        t = time.perf_counter()
        daily = daily_store_demand(bookings, as_of=as_of)
        countries = dict(zip(stores["store_id"], stores["country"], strict=True))
        capacity = dict(zip(stores["store_id"], stores["daily_capacity"], strict=True))
        fc = forecast_store_demand(daily, country_by_store=countries, capacity_by_store=capacity)
        rows.append(("forecast: daily series + Prophet, all stores (2 workers)", time.perf_counter() - t,
                     f"{fc['store_id'].nunique()} stores x 90 days"))

    print(f"\n{platform.processor() or platform.machine()}, {args.customers:,} customers\n")
    print("| step | seconds | notes |\n|---|---:|---|")
    for name, seconds, note in rows:
        print(f"| {name} | {seconds:.1f} | {note} |")


if __name__ == "__main__":
    main()
