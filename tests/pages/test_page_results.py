"""Page figures kept in the database (db.page_results, dashboard.precomputed, dashboard.warmup):
a value comes back exactly as stored, a result is only ever read for the stores and data version
it was computed from, a freshly started server reads instead of recomputing, the worker's warm-up
keeps every user's first view, and no name or phone is ever kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pytest
import streamlit as st

from core.overview import Headline
from core.scope import Scope
from dashboard import analytics_data as ad
from dashboard import campaign_data, data
from dashboard.precomputed import remembered
from dashboard.warmup import LANDING_STEPS, default_views, warm
from db import page_results
from db.engine import session_scope
from db.models import Booking, Customer, PageResult
from db.privacy import anonymise_customer
from tests.support.factories import small_world, utc

AS_OF = date(2026, 11, 10)
ADMIN = Scope(actor="admin", role="chain_admin", store_ids=None)


pytestmark = pytest.mark.usefixtures("empty_streamlit_caches")


def _restart() -> None:
    """What a server restart does to the in-memory caches."""
    st.cache_data.clear()
    st.cache_resource.clear()
    data.clear_versions()


def test_codec_gives_back_what_it_stored() -> None:
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2026-11-01 10:00", None]).tz_localize("Asia/Taipei"),
            "day": pd.to_datetime(["2026-11-01", "2026-11-02"]),
            "segment": pd.Categorical(["new", "lost"]),
            "count": pd.array([3, None], dtype="Int64"),
            "params": [{"days": 3, "name": "剪髮"}, None],
            "path": [(1, 2), (3,)],
            "risk": [0.25, np.nan],
            "label": ["甲", None],
        }
    )
    pivot = pd.DataFrame({0: [1.0, 0.5], 1: [1.0, np.nan]}, index=pd.Index(["2026-01", "2026-02"], name="month"))
    value = {
        "frame": frame,
        "pivot": pivot,
        "series": pd.Series([1, 2], name="visits"),
        "headline": Headline(12.0, None),
        "ids": frozenset({3, 1}),
        "day": AS_OF,
        "nan": float("nan"),
        "pair": (1, "b"),
        7: ["x", None, True],
    }
    back = page_results.decode(page_results.encode(value))
    pd.testing.assert_frame_equal(back["frame"], frame)
    pd.testing.assert_frame_equal(back["pivot"], pivot)
    pd.testing.assert_series_equal(back["series"], value["series"])
    assert back["headline"] == Headline(12.0, None) and back["headline"].delta is None
    assert back["ids"] == frozenset({1, 3}) and back["day"] == AS_OF and back["pair"] == (1, "b")
    assert np.isnan(back["nan"]) and back[7] == ["x", None, True]


def test_codec_refuses_what_it_cannot_rebuild_safely(engine) -> None:
    @dataclass
    class Unregistered:
        x: int

    for value in (object(), Unregistered(1), {"fitted": lambda: 1}):
        with pytest.raises(page_results.UnstorableResult):
            page_results.encode(value)
    ids = small_world(engine)
    with session_scope(engine) as session:
        assert not page_results.save_result(
            session, scope=ADMIN, name="x", store_ids=(ids["store_a"],), params={}, version="1", value=object()
        )
        assert session.query(PageResult).count() == 0
    with pytest.raises(ValueError):
        page_results.decode(b"\x80\x04pickle")


def test_results_are_read_only_for_their_stores_and_version(engine) -> None:
    ids = small_world(engine)
    a, b = ids["store_a"], ids["store_b"]
    manager_a = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({a}))
    with session_scope(engine) as session:
        page_results.save_result(
            session,
            scope=ADMIN,
            name="kpi_board",
            store_ids=(a, b),
            params={"as_of": AS_OF},
            version="v1",
            value=pd.DataFrame({"kpi": ["chain"]}),
        )
        page_results.save_result(
            session,
            scope=ADMIN,
            name="kpi_board",
            store_ids=(a,),
            params={"as_of": AS_OF},
            version="v1",
            value=pd.DataFrame({"kpi": ["store a"]}),
        )
    with session_scope(engine) as session:

        def read(scope: Scope, stores: tuple[int, ...], version: str = "v1", as_of: date = AS_OF) -> object:
            return page_results.load_result(
                session, scope=scope, name="kpi_board", store_ids=stores, params={"as_of": as_of}, version=version
            )

        assert read(ADMIN, (a, b))["kpi"].tolist() == ["chain"]
        # A manager asking for both stores is narrowed to their own: never the chain's figures.
        assert read(manager_a, (a, b))["kpi"].tolist() == ["store a"]
        assert read(Scope(actor="x", role="store_manager", store_ids=frozenset({b})), (a,)) is page_results.NOT_KEPT
        assert read(ADMIN, (a, b), version="v2") is page_results.NOT_KEPT
        assert read(ADMIN, (a, b), as_of=date(2026, 11, 11)) is page_results.NOT_KEPT
    with session_scope(engine) as session:  # a newer version replaces the row
        page_results.save_result(
            session,
            scope=ADMIN,
            name="kpi_board",
            store_ids=(b, a),
            params={"as_of": AS_OF},
            version="v2",
            value=pd.DataFrame({"kpi": ["new"]}),
        )
        assert session.query(PageResult).count() == 2


def test_a_restarted_server_reads_instead_of_recomputing(engine) -> None:
    ids = small_world(engine)
    stores = (ids["store_a"],)
    calls: list[int] = []

    def compute() -> dict[str, object]:
        calls.append(1)
        return {"visits": Headline(4.0, 2.0)}

    first = remembered(engine, ADMIN, "figures", stores, {"as_of": AS_OF}, (1, 2), compute)
    again = remembered(engine, ADMIN, "figures", stores, {"as_of": AS_OF}, (1, 2), compute)
    assert first == again and len(calls) == 1
    remembered(engine, ADMIN, "figures", stores, {"as_of": AS_OF}, (1, 3), compute)  # new data version
    assert len(calls) == 2
    # A result whose own shape changed (revision) is recomputed, not read back in the old shape.
    remembered(engine, ADMIN, "figures", stores, {"as_of": AS_OF}, (1, 3), compute, revision=1)
    assert len(calls) == 3

    # Through the real loaders: after a restart the board comes from the kept copy.
    board = ad.board(engine, ADMIN, stores, AS_OF)
    _restart()
    with session_scope(engine) as session:
        kept = page_results.result_versions(session, names=["kpi_board"])
    assert kept["stores"].tolist() == [str(ids["store_a"])]
    pd.testing.assert_frame_equal(ad.board(engine, ADMIN, stores, AS_OF), board)

    # A new booking changes the data version: the board is recomputed, not served stale.
    with session_scope(engine) as session:
        session.add(
            Booking(
                dedupe_key="k9",
                external_id="k9",
                store_id=ids["store_a"],
                customer_id=ids["a1"],
                scheduled_at=utc(2026, 11, 9, 2),
                status="completed",
                amount=500,
            )
        )
    _restart()
    after = ad.board(engine, ADMIN, stores, AS_OF).set_index("kpi")
    assert after.loc["no_show_rate", "value"] != board.set_index("kpi").loc["no_show_rate", "value"]


def test_warm_keeps_every_users_first_view_without_names(engine) -> None:
    ids = small_world(engine)
    views = default_views(engine, today=AS_OF)
    # Admin: both stores (TWD and CNY: one store each, the smaller id first); manager and
    # marketer of A share one view; front desk opens no analytics.
    assert sorted((v.store_ids, v.picked_store_ids) for v in views) == sorted(
        [((ids["store_a"],), (ids["store_a"], ids["store_b"])), ((ids["store_a"],), (ids["store_a"],))]
    )
    report = warm(engine, views)
    assert [row for row in report if row["error"]] == []
    # Every user's landing page (the Overview's figures) is ready before any other figure.
    order = [row["name"] in LANDING_STEPS for row in report]
    assert order == sorted(order, reverse=True) and sum(order) == len(LANDING_STEPS) * len(views)
    with session_scope(engine) as session:
        kept = page_results.result_versions(session)
    for name in (
        "overview",
        "kpi_board",
        "kpi_trend",
        "scores",
        "priority",
        "loyalty_page",
        "loyalty_activity",
        "loyalty_ledger",
        "latest_visit_day",
        "campaign_results",
        "audience_facts",
    ):
        assert str(ids["store_a"]) in set(kept.loc[kept["name"] == name, "stores"]), name
    for name in ("kpi_by_store", "cohorts", "task_summary", "models_page"):  # every picked store, whatever the currency
        assert f"{ids['store_a']},{ids['store_b']}" in set(kept.loc[kept["name"] == name, "stores"]), name

    with session_scope(engine) as session:
        payloads = session.query(PageResult.payload).all()
    for (payload,) in payloads:
        assert "王小美".encode() not in payload and b"+886912345678" not in payload

    # Pages still show names, read at once: an anonymised customer drops out of the scores.
    manager = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({ids["store_a"]}))
    assert "王小美" in set(ad.scores(engine, manager, (ids["store_a"],), AS_OF)["name"])
    with session_scope(engine) as session:
        anonymise_customer(session, scope=ADMIN, customer_id=ids["a1"])
    _restart()
    assert ids["a1"] not in set(ad.scores(engine, manager, (ids["store_a"],), AS_OF)["customer_id"])

    # The campaign audience keeps facts only; consent and contact details are read at once.
    audience = campaign_data.audience(engine, manager, (ids["store_a"],), AS_OF)
    assert audience.set_index("customer_id").loc[ids["a2"], "phone"] == "+886922333444"
    with session_scope(engine) as session:
        session.get(Customer, ids["a2"]).consent_sms = True
    _restart()
    assert bool(
        campaign_data.audience(engine, manager, (ids["store_a"],), AS_OF)
        .set_index("customer_id")
        .loc[ids["a2"], "consent_sms"]
    )

    # A second run with nothing new only reads back.
    again = warm(engine, views)
    assert max(row["seconds"] for row in again) < max(row["seconds"] for row in report) + 5


def test_warm_command_prints_a_summary(sqlite_engine, monkeypatch, capsys) -> None:
    import json

    from dashboard.cli import main

    small_world(sqlite_engine)
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    assert main(["warm"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["failures"] == {} and summary["results"] >= 2 * 15
    with session_scope(sqlite_engine) as session:
        assert len(page_results.result_versions(session)) >= 15


def test_worker_warms_again_only_when_something_changed(sqlite_engine) -> None:
    from dashboard.worker import CampaignWorker

    ids = small_world(sqlite_engine)
    worker = CampaignWorker(sqlite_engine)
    try:
        first = worker.warm_pages()
        assert first and not any(row["error"] for row in first)
        assert worker.warm_pages() == []  # nothing new: skipped
        with session_scope(sqlite_engine) as session:
            session.add(
                Booking(
                    dedupe_key="k9",
                    external_id="k9",
                    store_id=ids["store_a"],
                    customer_id=ids["a1"],
                    scheduled_at=utc(2026, 11, 9, 2),
                    status="completed",
                    amount=500,
                )
            )
        data.clear_versions()
        assert worker.warm_pages()  # an import: warmed again
    finally:
        worker.close()


def test_results_nobody_asked_for_in_a_week_are_pruned(engine) -> None:
    from datetime import UTC, datetime, timedelta

    ids = small_world(engine)
    with session_scope(engine) as session:
        for day in (AS_OF, date(2026, 11, 1)):
            page_results.save_result(
                session,
                scope=ADMIN,
                name="kpi_board",
                store_ids=(ids["store_a"],),
                params={"as_of": day},
                version="v1",
                value=pd.DataFrame({"kpi": [str(day)]}),
            )
    with session_scope(engine) as session:
        old = session.query(PageResult).filter(PageResult.params == "as_of=2026-11-01").one()
        old.computed_at = datetime.now(UTC) - timedelta(days=8)
    with session_scope(engine) as session:
        assert page_results.prune_results(session, keep_days=7) == 1
        assert page_results.result_versions(session)["params"].tolist() == ["as_of=2026-11-10"]
