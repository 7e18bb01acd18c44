"""Churn models: BG/NBD reference values, the boosting model's backtest, determinism, as-of safety."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from core.models.bgnbd import BetaGeoModel, bgnbd_summary, simulate_bgnbd
from core.models.churn import (
    CHURN_OUTPUT_COLUMNS,
    churn_model_for_scoring,
    fit_churn_models,
    predict_churn,
)
from core.models.evaluation import ai_accuracy, model_evaluation
from core.models.features import churn_features, churn_labels, prepare_history
from core.models.reasons import REASON_KEYS, REASON_TEXT_EN, explain_churn, reason_text_en
from core.scoring import score_customers
from demo.world import generate_world

AS_OF = "2026-11-22"
PAST = "2026-08-31"


@pytest.fixture(scope="module")
def world():
    return generate_world(n_customers=5000, seed=11)


@pytest.fixture(scope="module")
def report(world):
    return fit_churn_models(world.bookings, world.customers, as_of=AS_OF, feedback=world.feedback, stores=world.stores)


@pytest.fixture(scope="module")
def features_now(world):
    history = prepare_history(
        world.bookings, world.customers, as_of=AS_OF, feedback=world.feedback, stores=world.stores
    )
    return churn_features(history, as_of=AS_OF)


# ----------------------------------------------------------------------------- BG/NBD
def test_bgnbd_recovers_parameters_from_its_own_simulation():
    true = {"r": 0.5, "alpha": 20.0, "a": 0.8, "b": 2.5}
    ages = np.random.default_rng(1).uniform(100, 400, 5000)
    data = simulate_bgnbd(5000, T=ages, seed=3, **true)
    fit = BetaGeoModel().fit(data["frequency"], data["recency"], data["T"])
    got = fit.params_
    assert got["r"] == pytest.approx(true["r"], rel=0.15)
    assert got["alpha"] == pytest.approx(true["alpha"], rel=0.2)
    assert got["a"] == pytest.approx(true["a"], rel=0.3)
    assert got["b"] == pytest.approx(true["b"], rel=0.35)


def _lifetimes_dataset(name: str) -> Path:
    spec = importlib.util.find_spec("lifetimes")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lifetimes (which ships the CDNOW data) is not installed: pip install lifetimes==0.11.3")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / name
    if not path.exists():
        pytest.skip(f"{path} not found in the installed lifetimes package")
    return path


def test_bgnbd_matches_the_published_cdnow_estimates():
    # Fader, Hardie & Lee (2005), CDNOW 1/10th cohort, weeks: r=0.243, alpha=4.414, a=0.793, b=2.426.
    summary = pd.read_csv(_lifetimes_dataset("cdnow_customers_summary.csv"))
    fit = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    assert fit.r_ == pytest.approx(0.243, abs=0.002)
    assert fit.alpha_ == pytest.approx(4.414, abs=0.02)
    assert fit.a_ == pytest.approx(0.793, abs=0.005)
    assert fit.b_ == pytest.approx(2.426, abs=0.02)
    # Published conditional expectation for x=2, t_x=30.43, T=38.86 over 39 weeks: 1.226.
    assert float(fit.conditional_expected_purchases(39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=0.01)


def test_bgnbd_probabilities_are_consistent():
    model = BetaGeoModel()
    model.r_, model.alpha_, model.a_, model.b_ = 0.5, 20.0, 0.8, 2.5
    x, t_x, big_t = np.array([0.0, 3, 3]), np.array([0.0, 50, 200]), np.array([210.0, 210, 210])
    p_alive = model.conditional_probability_alive(x, t_x, big_t)
    assert p_alive[0] == 1.0  # the BG/NBD quirk for single-purchase customers
    assert p_alive[1] < p_alive[2]  # a long silence lowers P(alive)
    p_none = model.probability_no_purchase(90, x, t_x, big_t)
    # Monte-Carlo check of P(no purchase) from the posterior of (alive, lambda) for row 1.
    rng = np.random.default_rng(0)
    lam = rng.gamma(0.5 + 3, 1 / (20.0 + 210), 400_000)
    alive = rng.random(400_000) < p_alive[1]
    mc = np.mean(~alive | (rng.poisson(lam * 90) == 0))
    assert p_none[1] == pytest.approx(mc, abs=0.005)


def test_bgnbd_summary_counts_visit_days():
    bookings = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2],
            "scheduled_at": pd.to_datetime(
                ["2026-01-01 10:00", "2026-01-01 15:00", "2026-01-11 09:00", "2026-03-01 09:00", "2026-01-05 09:00"]
            ),
            "status": ["completed", "completed", "completed", "completed", "no_show"],
        }
    )
    out = bgnbd_summary(bookings, as_of="2026-01-31")
    assert out.to_dict("records") == [{"customer_id": 1, "frequency": 1.0, "recency": 10.0, "T": 30.0}]


# ----------------------------------------------------------------------------- backtest
def test_boosting_beats_bgnbd_and_is_calibrated(report):
    auc_gbm, auc_bg = report.auc("gbm"), report.auc("bgnbd")
    print(
        f"\nchurn backtest AUC: gbm {auc_gbm:.3f}, bgnbd {auc_bg:.3f}, margin {auc_gbm - auc_bg:+.3f}; "
        f"active: gbm {report.auc('gbm', 'active'):.3f}, bgnbd {report.auc('bgnbd', 'active'):.3f}"
    )
    assert report.chosen == "gbm"
    assert auc_gbm >= 0.80
    assert auc_gbm > auc_bg + 0.01
    assert report.auc("gbm", "active") > report.auc("bgnbd", "active") + 0.03
    ece = report.metrics.query("model == 'gbm' and population == 'all'")["ece"].iloc[0]
    assert ece <= 0.05
    assert set(report.reliability["model"]) == {"gbm", "bgnbd", "cadence_rule"}


def test_scores_follow_the_ground_truth(world, report, features_now):
    out = predict_churn(report, features_now)
    assert list(out.columns) == list(CHURN_OUTPUT_COLUMNS)
    assert out["churn_risk"].between(0, 1).all() and out["p_alive"].between(0, 1).all()
    assert (out["expected_visits"] >= 0).all()
    churned = world.truth.groupby("customer_id")["churned_at"].apply(lambda s: s.notna().all())
    truth = churned.reindex(out["customer_id"]).to_numpy()
    assert roc_auc_score(truth, out["churn_risk"]) > 0.9
    assert out.loc[truth, "expected_visits"].mean() < 0.5 * out.loc[~truth, "expected_visits"].mean()
    assert set(out["confidence"]) <= {"high", "medium", "low"}
    assert (out.loc[features_now["n_visits"].to_numpy() <= 1, "confidence"] == "low").all()


def test_adapter_plugs_into_score_customers(world, report):
    model = churn_model_for_scoring(
        report, world.bookings, world.customers, as_of=AS_OF, feedback=world.feedback, stores=world.stores
    )
    scores = score_customers(world.bookings, world.customers, as_of=AS_OF, churn_model=model)
    assert scores["churn_risk"].between(0, 1).all()
    assert scores["p_alive"].notna().all() and scores["expected_visits"].notna().all()
    with pytest.raises(ValueError, match="horizon"):
        score_customers(world.bookings, world.customers, as_of=AS_OF, churn_model=model, horizon_days=30)


def test_same_data_same_numbers():
    small = generate_world(n_customers=1500, seed=5)
    a = fit_churn_models(small.bookings, small.customers, as_of=PAST, importance=False)
    b = fit_churn_models(small.bookings, small.customers, as_of=PAST, importance=False)
    pd.testing.assert_frame_equal(a.metrics, b.metrics)
    feats = churn_features(prepare_history(small.bookings, small.customers, as_of=PAST), as_of=PAST)
    pd.testing.assert_frame_equal(predict_churn(a, feats), predict_churn(b, feats))


def test_past_as_of_ignores_later_bookings(world):
    later = pd.to_datetime(world.bookings["scheduled_at"]) >= pd.Timestamp(PAST) + pd.Timedelta(days=1)
    cut = world.bookings.loc[~later.to_numpy()]
    kw = dict(as_of=PAST, feedback=world.feedback, stores=world.stores, importance=False)
    full = fit_churn_models(world.bookings, world.customers, **kw)
    trunc = fit_churn_models(cut, world.customers, **kw)
    pd.testing.assert_frame_equal(full.metrics, trunc.metrics)
    sc_full = score_customers(
        world.bookings,
        world.customers,
        as_of=PAST,
        churn_model=churn_model_for_scoring(
            full, world.bookings, world.customers, as_of=PAST, feedback=world.feedback, stores=world.stores
        ),
    )
    sc_cut = score_customers(
        cut,
        world.customers,
        as_of=PAST,
        churn_model=churn_model_for_scoring(
            trunc, cut, world.customers, as_of=PAST, feedback=world.feedback, stores=world.stores
        ),
    )
    pd.testing.assert_frame_equal(sc_full, sc_cut)


# ----------------------------------------------------------------------------- small shops
def test_a_300_customer_studio_gets_useful_pooled_scores(world):
    small_store = 4
    home = world.customers.set_index("customer_id")["home_store_id"]
    keep_ids = home.index[home.eq(small_store)][:300]
    drop = home.index[home.eq(small_store)].difference(keep_ids)
    bookings = world.bookings.loc[~world.bookings["customer_id"].isin(drop)]
    customers = world.customers.loc[~world.customers["customer_id"].isin(drop)]
    pooled = fit_churn_models(
        bookings, customers, as_of=AS_OF, feedback=world.feedback, stores=world.stores, importance=False
    )
    row = pooled.store_metrics.set_index("store_id").loc[small_store]
    solo_b = bookings.loc[bookings["customer_id"].isin(keep_ids)]
    solo = fit_churn_models(
        solo_b,
        customers.loc[customers["customer_id"].isin(keep_ids)],
        as_of=AS_OF,
        feedback=world.feedback,
        stores=world.stores,
        importance=False,
    )
    print(
        f"\n300-customer store: pooled AUC {row['auc_gbm']:.3f} (BG/NBD {row['auc_bgnbd']:.3f}, "
        f"n={int(row['n'])}); alone: {solo.chosen} AUC {solo.auc(solo.chosen):.3f}"
    )
    assert row["auc_gbm"] >= 0.80
    feats = churn_features(
        prepare_history(bookings, customers, as_of=AS_OF, feedback=world.feedback, stores=world.stores), as_of=AS_OF
    )
    pred = predict_churn(pooled, feats).set_index("customer_id")
    in_store = pred.loc[pred.index.isin(keep_ids)]
    assert set(in_store["confidence"]) <= {"medium", "low"}
    assert "small_store_pooled" in set(in_store["confidence_reason"])


def test_too_little_history_falls_back_to_the_cadence_rule(world):
    few = world.customers["customer_id"].iloc[:40]
    b = world.bookings.loc[world.bookings["customer_id"].isin(few)]
    rep = fit_churn_models(
        b, world.customers.loc[world.customers["customer_id"].isin(few)], as_of=AS_OF, importance=False
    )
    assert rep.chosen == "cadence_rule" and rep.fallback_reason == "too_little_history"
    feats = churn_features(prepare_history(b, None, as_of=AS_OF), as_of=AS_OF)
    out = predict_churn(rep, feats)
    assert (out["confidence"] == "low").all() and (out["model"] == "cadence_rule").all()


# ----------------------------------------------------------------------------- reasons
def test_reason_codes_are_keys_with_parameters(report, features_now):
    reasons = explain_churn(report, features_now, min_risk=0.5, top_k=3)
    assert len(reasons) > 0 and (reasons["churn_risk"] >= 0.5).all()
    keys = {r["key"] for rs in reasons["reasons"] for r in rs}
    assert keys <= set(REASON_KEYS) and "overdue" in keys
    assert all(1 <= len(rs) <= 3 for rs in reasons["reasons"])
    for rs in reasons["reasons"]:
        contrib = [r["contribution"] for r in rs if r["contribution"] >= 0.005]
        assert contrib == sorted(contrib, reverse=True)
        for r in rs:
            reason_text_en(r)  # every key renders with its parameters
    overdue = next(r for rs in reasons["reasons"] for r in rs if r["key"] == "overdue")
    assert overdue["days"] > 0 and overdue["window"] > 0
    assert set(REASON_TEXT_EN) == set(REASON_KEYS)


# ----------------------------------------------------------------------------- held-out CDNOW
def test_boosting_matches_bgnbd_on_cdnow_transactions():
    raw = pd.read_csv(
        _lifetimes_dataset("CDNOW_master.txt"), sep=r"\s+", header=0, names=["customer_id", "date", "cds", "amount"]
    )
    bookings = pd.DataFrame(
        {
            "booking_id": np.arange(len(raw)),
            "customer_id": raw["customer_id"],
            "store_id": 1,
            "service_category": "cd",
            "status": "completed",
            "amount": raw["amount"],
            "addon_amount": 0.0,
            "scheduled_at": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d") + pd.Timedelta(hours=12),
        }
    )
    as_of = "1997-09-30"
    rep = fit_churn_models(bookings, None, as_of=as_of, horizon_days=90, importance=False)
    feats = churn_features(prepare_history(bookings, None, as_of=as_of), as_of=as_of)
    y = churn_labels(bookings, as_of=as_of, horizon_days=90, customer_ids=feats.index).to_numpy()
    auc_gbm = roc_auc_score(y, rep.gbm.predict_risk(feats))
    auc_bg = roc_auc_score(y, predict_churn(rep.bgnbd, feats, horizon_days=90)["churn_risk"])
    print(f"\nCDNOW held-out (after {as_of}, 90 d): gbm AUC {auc_gbm:.3f}, BG/NBD {auc_bg:.3f}")
    assert auc_gbm >= auc_bg - 0.005


# ----------------------------------------------------------------------------- model page
def test_model_evaluation_and_ai_accuracy(report):
    summary, reliability = model_evaluation(churn=report)
    churn_rows = summary.loc[summary["task"] == "churn"]
    assert {"gbm", "bgnbd"} <= set(churn_rows["model"])
    assert churn_rows.loc[churn_rows["model"] == "bgnbd", "role"].eq("baseline").all()
    assert reliability["mean_predicted"].between(0, 1).all()
    reviews = pd.DataFrame(
        {
            "model_label": ["churn_risk", "stable", "churn_risk", None],
            "manual_label": ["Churn_Risk ", "churn_risk", "churn_risk", "stable"],
        }
    )
    assert ai_accuracy(reviews) == pytest.approx(2 / 3)
    assert np.isnan(ai_accuracy(reviews.iloc[3:]))
