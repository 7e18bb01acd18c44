"""AppTest of the Model evaluation page on a small generated world: renders for a store manager
with the backtest table (boosting and BG/NBD rows), and does not exist for the front desk."""

from __future__ import annotations

import pytest

from dashboard.navigation import pages_for
from db.engine import session_scope
from demo.accounts import seed_demo_accounts
from demo.load import load_world
from demo.world import generate_world
from tests.support.apptest_helpers import run_as, texts, use_database
from tests.support.factories import PASSWORD

PAGE = "../pages/models.py"


@pytest.fixture
def demo_world(sqlite_engine, monkeypatch):
    load_world(sqlite_engine, [generate_world(n_customers=400, seed=3)])
    with session_scope(sqlite_engine) as session:
        seed_demo_accounts(session, password=PASSWORD)
    use_database(monkeypatch, str(sqlite_engine.url))
    return sqlite_engine


def test_store_manager_sees_backtests_against_baselines(demo_world) -> None:
    app = run_as("manager", page=PAGE, timeout=90)
    assert not app.exception
    shown = texts(app)
    assert "Model evaluation" in shown
    assert "backtest AUC" in shown  # the summary
    table = app.dataframe[0].value
    models = set(table["Model"])
    assert {"Gradient boosting", "BG/NBD", "Cadence rule"} <= models
    assert {"Previous no-show rule", "Prophet", "Seasonal naive"} <= models
    churn = table[table["Task"] == "Churn"].set_index("Model")
    assert float(churn.loc["Gradient boosting", "AUC"]) > 0.7 and float(churn.loc["BG/NBD", "AUC"]) > 0.7
    assert "No manual reviews yet" in shown  # AI accuracy empty state
    assert len(app.get("plotly_chart")) >= 4  # AUC bars, two calibration plots, forecast
    assert "fewer than" in shown  # small-store confidence note (one ~100-customer store)


def test_marketer_sees_masked_upcoming_no_shows(demo_world) -> None:
    app = run_as("marketer", page=PAGE, timeout=90)
    assert not app.exception
    upcoming = next(df.value for df in app.dataframe if "No-show risk" in df.value.columns)
    assert len(upcoming) > 0
    assert upcoming["Phone"].str.contains(r"\*").all() or upcoming["Phone"].eq("").all()


def test_models_page_absent_for_front_desk(demo_world) -> None:
    assert "models" not in [p.key for p in pages_for("front_desk")]
    assert all("models" in [p.key for p in pages_for(r)] for r in ("chain_admin", "store_manager", "marketer"))
    app = run_as("frontdesk")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)


def test_chain_admin_in_chinese(demo_world) -> None:
    app = run_as("admin", page=PAGE, locale="zh-TW", timeout=90)
    assert not app.exception
    shown = texts(app)
    assert "模型評估" in shown and "回測成績" in shown
    assert {"梯度提升", "BG/NBD"} <= set(app.dataframe[0].value["模型"])


def test_no_show_list_shows_the_riskiest_first_with_the_full_list_to_download(demo_world) -> None:
    app = run_as("manager", page=PAGE, timeout=90)
    assert not app.exception
    upcoming = next(df.value for df in app.dataframe if "No-show risk" in df.value.columns)
    risks = upcoming["No-show risk"].str.rstrip("%").astype(float)
    assert 0 < len(upcoming) <= 200 and risks.is_monotonic_decreasing
    labels = [button.proto.label for button in app.get("download_button")]
    assert "Download the full no-show risk list (CSV)" in labels
