"""One customer, one churn risk: every surface scores through ``services.scoring``.

The ``score`` CLI, the Segments page's data, Customer 360's, the priority list and the worker's
campaign audience give the same ``churn_risk``, ``p_alive``, revisit window and next due date for
the same customer, stores, as-of day and horizon — on SQLite and on PostgreSQL. Customer A-1 also
visits store B, so the chain view (both stores) and store A's manager see different histories:
each view is checked against numbers worked out by hand from its own visits.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from core.scope import PermissionDenied, Scope
from dashboard import settings
from db import engine as db_engine
from db.engine import session_scope
from db.models import Booking, Service
from tests.support.factories import small_world, utc

AS_OF = date(2026, 12, 20)
HORIZON = 90
FLOAT_TOL = 1e-12
CSV_TOL = 1e-6  # the score CSV rounds figures to 6 decimals (DESIGN.md CLI contract)


@pytest.fixture(autouse=True)
def _forget_cli_settings() -> Iterator[None]:
    """The CLI runs in-process on the test's database: later tests must not inherit its settings."""
    yield
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()


def _world(engine: Engine) -> dict[str, int]:
    """``tests.support.factories.small_world`` plus a visit of A-1 at store B on 2026-11-12 (Shanghai)."""
    ids = small_world(engine)
    with session_scope(engine) as session:
        service = session.query(Service).one()
        session.add(
            Booking(
                dedupe_key="k6",
                external_id="k6",
                store_id=ids["store_b"],
                customer_id=ids["a1"],
                service_id=service.id,
                scheduled_at=utc(2026, 11, 12, 2),
                status="completed",
                amount=500,
                addon_amount=0,
            )
        )
    return ids


def _cli_row(engine: Engine, monkeypatch: pytest.MonkeyPatch, out: Path, user: str, external_id: str) -> dict:
    from dashboard.cli import main

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    assert main(["--as", user, "score", "--out", str(out), "--as-of", AS_OF.isoformat(), "--quiet"]) == 0
    scores = pd.read_csv(out, dtype={"customer_id": str})
    return {"frame": scores, **scores.set_index("customer_id").loc[external_id].to_dict()}


def _figures(row: object) -> dict[str, float | str]:
    """The four figures every surface shows, from a frame row (Series) or a CLI row (dict)."""
    get = row.get  # type: ignore[attr-defined]
    return {
        "churn_risk": float(get("churn_risk")),
        "p_alive": float(get("p_alive")),
        "revisit_window_days": float(get("revisit_window_days")),
        "next_due_date": pd.Timestamp(get("next_due_date")).date().isoformat(),
    }


def _assert_same(surface: str, got: dict, expected: dict, tol: float) -> None:
    assert got["next_due_date"] == expected["next_due_date"], surface
    for key in ("churn_risk", "p_alive", "revisit_window_days"):
        assert got[key] == pytest.approx(expected[key], abs=tol, rel=0), f"{surface}: {key}"


def _by_hand(last_visit: date, window: float) -> dict[str, float | str]:
    """The cadence rule worked out by hand: P(alive) halves for each window past due; churn risk is
    the chance of no visit in the horizon for a Poisson visitor at one visit per window."""
    since = (AS_OF - last_visit).days
    p_alive = 0.5 ** (max(0.0, since - window) / window)
    return {
        "churn_risk": 1 - p_alive * (1 - math.exp(-HORIZON / window)),
        "p_alive": p_alive,
        "revisit_window_days": window,
        "next_due_date": (last_visit + timedelta(days=round(window))).isoformat(),
    }


def _surfaces(engine: Engine, scope: Scope, store_ids: tuple[int, ...], customer_id: int) -> dict[str, dict]:
    """The customer's figures on the page loaders (Segments, Customer 360, the priority list)."""
    from dashboard import analytics_data as ad

    scores = ad.scores(engine, scope, store_ids, AS_OF)  # Customer 360 reads this frame
    row = scores.set_index("customer_id").loc[customer_id]
    members = ad.segment_members(engine, scope, store_ids, AS_OF, "lifecycle_segment", str(row["lifecycle_segment"]))
    priority = ad.priority(engine, scope, store_ids, AS_OF, limit=20).set_index("customer_id")
    ranked = priority.loc[customer_id]
    return {
        "customer_360": _figures(row),
        "segments": _figures(members.set_index("customer_id").loc[customer_id]),
        # The priority list carries churn risk and the window, not P(alive) or the due date.
        "priority": {
            **_figures(row),
            "churn_risk": float(ranked["churn_risk"]),
            "revisit_window_days": float(ranked["revisit_window_days"]),
        },
    }


@pytest.mark.usefixtures("empty_streamlit_caches")
def test_one_customer_one_churn_risk_on_every_surface(engine, monkeypatch, tmp_path) -> None:
    from dashboard.worker import CampaignWorker

    ids = _world(engine)
    a1 = ids["a1"]

    # --- the chain view: both stores (A-1's visits 10-01, 10-20 at A and 11-12 at B) -----------
    cli = _cli_row(engine, monkeypatch, tmp_path / "chain.csv", "admin", "A-1")
    assert (cli["recency_days"], cli["frequency"], cli["monetary"]) == (38, 3, 2900.0)
    assert cli["churn_model"] == "cadence_rule"
    expected = _by_hand(date(2026, 11, 12), float(cli["revisit_window_days"]))
    _assert_same("cli (by hand)", _figures(cli), expected, CSV_TOL)
    assert 0 < expected["p_alive"] < 1  # past due on the chain view: P(alive) is below one

    admin = Scope(actor="admin", role="chain_admin", store_ids=None)
    chain = tuple(sorted((ids["store_a"], ids["store_b"])))
    reference = _surfaces(engine, admin, chain, a1)["customer_360"]
    _assert_same("cli", _figures(cli), reference, CSV_TOL)
    for surface, figures in _surfaces(engine, admin, chain, a1).items():
        _assert_same(surface, figures, reference, FLOAT_TOL)
    worker = CampaignWorker(engine)
    try:
        audience = worker.audience_world({}, AS_OF).set_index("customer_id")
    finally:
        worker.close()
    _assert_same("worker audience", _figures(audience.loc[a1]), reference, FLOAT_TOL)

    # --- store A's manager: only the visits at A (10-01, 10-20), never store B's customers -------
    mine = _cli_row(engine, monkeypatch, tmp_path / "mine.csv", "mgr_a", "A-1")
    assert set(mine["frame"]["customer_id"]) == {"A-1", "A-2"}
    assert (mine["recency_days"], mine["frequency"], mine["monetary"]) == (61, 2, 2400.0)
    expected = _by_hand(date(2026, 10, 20), float(mine["revisit_window_days"]))
    _assert_same("manager cli (by hand)", _figures(mine), expected, CSV_TOL)
    manager = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({ids["store_a"]}))
    surfaces = _surfaces(engine, manager, (ids["store_a"],), a1)
    reference = surfaces["customer_360"]
    _assert_same("manager cli", _figures(mine), reference, CSV_TOL)
    for surface, figures in surfaces.items():
        _assert_same(f"manager {surface}", figures, reference, FLOAT_TOL)
    assert reference["churn_risk"] != pytest.approx(_figures(cli)["churn_risk"], abs=1e-3)


def test_scores_need_a_viewing_role(engine) -> None:
    """A role with neither ``view`` nor ``view_customer`` gets no scores (nothing read)."""
    from services.scoring import score_customers_for

    ids = _world(engine)
    nobody = Scope(actor="ghost", role="none", store_ids=None)
    with pytest.raises(PermissionDenied):
        score_customers_for(engine, nobody, as_of=AS_OF)
    # The front desk looks customers up on Customer 360: scores of its own store's customers only.
    desk = Scope(actor="desk_b", role="front_desk", store_ids=frozenset({ids["store_b"]}))
    scores = score_customers_for(engine, desk, as_of=AS_OF)
    assert scores["external_id"].tolist() == ["B-1"]


def test_customer_360_shows_the_cli_churn_risk(sqlite_engine, monkeypatch, tmp_path) -> None:
    """AppTest: the figures on Customer 360 are the CLI's for the same customer, stores and day."""
    from tests.support.apptest_helpers import run_as, use_database

    ids = _world(sqlite_engine)
    cli = _cli_row(sqlite_engine, monkeypatch, tmp_path / "mine.csv", "mgr_a", "A-1")
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as("mgr_a")
    app.session_state["ui.as_of"] = AS_OF
    app.session_state["c360.customer_id"] = ids["a1"]
    app.switch_page("../pages/customer_360.py")
    app.run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Churn risk"] == f"{float(cli['churn_risk']) * 100:.0f}%"
    assert metrics["Revisit window"] == f"{float(cli['revisit_window_days']):.0f} days"
    assert metrics["Next due"] == cli["next_due_date"]


@pytest.mark.usefixtures("empty_streamlit_caches")
def test_every_demo_customer_has_one_churn_risk(engine, monkeypatch, tmp_path) -> None:
    """On a demo chain with enough history for a fitted churn model to win the backtest, the
    ``score`` command's default, the pages' scores and the worker's audience agree for every
    customer (the command used to default to the fitted model while the pages used the rule)."""
    from dashboard import analytics_data as ad
    from dashboard.cli import main
    from dashboard.worker import CampaignWorker
    from db import repo

    end = date(2026, 11, 22)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    assert main(["demo", "--customers", "600", "--end-date", end.isoformat()]) == 0
    out = tmp_path / "scores.csv"
    assert main(["score", "--out", str(out), "--as-of", end.isoformat(), "--quiet"]) == 0
    cli = pd.read_csv(out).set_index("internal_id")
    assert len(cli) == 600

    system = Scope.system()
    with session_scope(engine) as session:
        stores = tuple(sorted(int(s.id) for s in repo.list_stores(session, scope=system)))
    pages = ad.scores(engine, system, stores, end).set_index("customer_id")
    worker = CampaignWorker(engine)
    try:
        audience = worker.audience_world({}, end).set_index("customer_id")
    finally:
        worker.close()
    assert sorted(pages.index) == sorted(audience.index) == sorted(cli.index)
    audience = audience.loc[pages.index]
    cli = cli.loc[pages.index]
    for column in ("churn_risk", "p_alive", "revisit_window_days"):
        assert (audience[column] - pages[column]).abs().max() <= FLOAT_TOL, column
        assert (cli[column] - pages[column]).abs().max() <= CSV_TOL, column
    due = pd.to_datetime(pages["next_due_date"]).dt.strftime("%Y-%m-%d")
    assert (pd.to_datetime(audience["next_due_date"]).dt.strftime("%Y-%m-%d").fillna("") == due.fillna("")).all()
    assert (cli["next_due_date"].fillna("") == due.fillna("")).all()
