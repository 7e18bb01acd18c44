"""core/spend.py: a visit's spend is amount + add-on, a missing add-on counting as 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.spend import visit_spend


def test_visit_spend_adds_the_add_on_and_reads_missing_values_as_zero() -> None:
    frame = pd.DataFrame(
        {"amount": [1000.0, 800.0, np.nan, 300.0, 50.0], "addon_amount": [200.0, np.nan, 150.0, None, "n/a"]},
        index=[10, 11, 12, 13, 14],
    )
    spend = visit_spend(frame)
    assert spend.to_dict() == {10: 1200.0, 11: 800.0, 12: 150.0, 13: 300.0, 14: 50.0}
    assert spend.sum() == 2500.0


def test_visit_spend_without_add_ons_or_their_column() -> None:
    frame = pd.DataFrame({"amount": [1000.0, 800.0], "addon_amount": [200.0, 50.0]})
    assert visit_spend(frame, include_addons=False).tolist() == [1000.0, 800.0]
    assert visit_spend(frame[["amount"]]).tolist() == [1000.0, 800.0]
    assert visit_spend(frame.iloc[:0]).tolist() == []


def test_visit_spend_sql_sums_amount_and_add_on_in_the_database(engine) -> None:
    """small_world: a1 2 x (1000 + 200), a2 800, b1 300 completed; a2's no-show is 0 + 0."""
    from sqlalchemy import func, select

    from db.aggregates import visit_spend_sql
    from db.engine import session_scope
    from db.models import Booking
    from tests.support.factories import small_world

    small_world(engine)
    with session_scope(engine) as session:
        per_key = dict(session.execute(select(Booking.external_id, visit_spend_sql())).all())
        total = session.scalar(select(func.sum(visit_spend_sql())).where(Booking.status == "completed"))
    assert {k: float(v) for k, v in per_key.items()} == {
        "k1": 1200.0,
        "k2": 1200.0,
        "k3": 800.0,
        "k4": 0.0,
        "k5": 300.0,
    }
    assert float(total) == 3500.0
