"""Scores kept: daily snapshots (ScoreSnapshot) and KPI targets.

Scoring itself is a use case (``services.scoring``: the one path of every page, the CLI and the
worker); this module only reads and writes what it keeps.

- :func:`write_snapshot` / :func:`load_snapshots`: one row per customer and day, replaced as a
  whole day per run (idempotent); :func:`month_ends` lists the days of the month-end backfill.
- :func:`load_kpi_targets` / :func:`save_kpi_targets`: per-store KPI targets kept in
  ``AppSetting`` under the key ``"kpi_targets"`` (store 0 = chain-wide).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import case, delete, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import localtime
from core.kpi import DEFAULT_KPI_TARGETS
from core.scope import Scope
from db import repo
from db.bulk import bulk_insert
from db.models import AppSetting, ScoreSnapshot
from db.scoping import scoped as in_stores

KPI_TARGETS_KEY = "kpi_targets"

#: Columns of :func:`load_snapshots`.
SNAPSHOT_COLUMNS = (
    "as_of",
    "customer_id",
    "store_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "rfm8_segment",
    "lifecycle_segment",
    "revisit_window_days",
    "next_due_date",
    "churn_risk",
    "p_alive",
    "expected_visits",
)


def default_as_of(session: Session, *, scope: Scope) -> date:
    """The last day with a completed visit the caller may see, never after today."""
    last = repo.latest_booking_day(session, scope=scope)
    return min(last, date.today()) if last else date.today()


# ------------------------------------------------------------------------------ snapshots
def _snapshot_rows(scores: pd.DataFrame, as_of: date) -> pd.DataFrame:
    def ints(column: str) -> pd.Series:
        return scores[column].astype("Int64")

    due = pd.to_datetime(scores["next_due_date"])
    return pd.DataFrame(
        {
            "as_of": pd.Timestamp(as_of),
            "customer_id": scores["customer_id"].astype(np.int64).to_numpy(),
            "store_id": ints("home_store_id").to_numpy(dtype=object),
            "recency_days": scores["recency_days"].astype(float).to_numpy(),
            "frequency": scores["frequency"].astype(np.int64).to_numpy(),
            "monetary": scores["monetary"].astype(float).to_numpy(),
            "r_score": ints("r_score").to_numpy(dtype=object),
            "f_score": ints("f_score").to_numpy(dtype=object),
            "m_score": ints("m_score").to_numpy(dtype=object),
            "rfm_segment": _text(scores["rfm_segment"]),
            "rfm8_segment": _text(scores["rfm8_segment"]),
            "lifecycle_segment": _text(scores["lifecycle_segment"]),
            "revisit_window_days": scores["revisit_window_days"].astype(float).to_numpy(),
            "next_due_date": due,
            "churn_risk": scores["churn_risk"].astype(float).to_numpy(),
            "p_alive": scores["p_alive"].astype(float).to_numpy(),
            "expected_visits": scores["expected_visits"].astype(float).to_numpy(),
        }
    )


def _text(values: pd.Series) -> np.ndarray:
    raw = values.astype(object).to_numpy()
    missing = pd.isna(raw) | np.isin(raw.astype(str), ["nan", "None", "<NA>"])
    return np.where(missing, None, raw)


def write_snapshot(engine: Engine, *, scores: pd.DataFrame, as_of: date, store_ids: Iterable[int] | None = None) -> int:
    """Replace the snapshot of ``as_of`` with ``scores`` in one transaction; return rows written.

    Parameters
    ----------
    scores : DataFrame
        From ``services.scoring.score_customers_for`` (internal ``customer_id``; ``home_store_id``
        becomes the snapshot's ``store_id``).
    as_of : date
    store_ids : optional
        Replace only that day's rows of these stores (default: every row of the day).
    """
    rows = _snapshot_rows(scores, as_of)
    table = ScoreSnapshot.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        statement = delete(table).where(table.c.as_of == as_of)
        statement = in_stores(statement, table.c.store_id, store_ids)
        connection.execute(statement)
        return bulk_insert(connection, table, rows)


def load_snapshots(
    session: Session,
    *,
    scope: Scope,
    store_ids: Sequence[int] | None = None,
    dates: Sequence[date] | None = None,
    columns: Sequence[str] = SNAPSHOT_COLUMNS,
) -> pd.DataFrame:
    """Snapshot rows of the caller's stores (by the customer's home store) on ``dates``."""
    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    table = ScoreSnapshot.__table__  # type: ignore[attr-defined]
    statement = select(*[table.c[c] for c in columns])
    statement = in_stores(statement, table.c.store_id, stores)
    if dates is not None:
        statement = statement.where(table.c.as_of.in_(list(dates)))
    rows = session.execute(statement.order_by(table.c.as_of, table.c.customer_id)).all()
    frame = pd.DataFrame(rows, columns=list(columns))
    if "as_of" in frame:
        frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame


def snapshot_dates(session: Session, *, scope: Scope) -> list[date]:
    """Days with a snapshot that has rows of the caller's stores, oldest first."""
    stores = repo.allowed_store_ids(scope=scope)
    statement = select(ScoreSnapshot.as_of).distinct()
    statement = in_stores(statement, ScoreSnapshot.store_id, stores)
    return sorted(pd.Timestamp(d).date() for d in session.scalars(statement))


def snapshot_version(session: Session) -> tuple[int, str]:
    """A cheap fingerprint that changes whenever a snapshot is written (cache keys)."""
    largest = session.execute(select(func.max(ScoreSnapshot.id), func.max(ScoreSnapshot.as_of))).one()
    return int(largest[0] or 0), str(largest[1] or "")


def month_ends(last_day: date, months: int) -> list[date]:
    """The last day of each of the ``months`` months before ``last_day``'s month, then ``last_day``."""
    first_of_month = last_day.replace(day=1)
    ends = []
    for _ in range(months):
        end = first_of_month - timedelta(days=1)
        ends.append(end)
        first_of_month = end.replace(day=1)
    return sorted(ends) + [last_day]


# ------------------------------------------------------------------------------ KPI targets
def load_kpi_targets(session: Session, *, scope: Scope, store_id: int | None) -> dict[str, float]:
    """Targets for one store (``None``: chain-wide): defaults, then chain-wide, then the store's."""
    targets = dict(DEFAULT_KPI_TARGETS)
    keys = [0] if store_id is None or not scope.allows_store(store_id) else [0, store_id]
    for key in keys:
        setting = session.get(AppSetting, (KPI_TARGETS_KEY, key))
        if setting is not None and isinstance(setting.value, dict):
            targets.update({k: float(v) for k, v in setting.value.items() if v is not None})
    return targets


def save_kpi_targets(session: Session, *, scope: Scope, store_id: int | None, targets: dict[str, float]) -> None:
    """Save targets of a store (or chain-wide with ``store_id=None``, chain roles only); audited."""
    scope.require("edit_rules")
    if store_id is None:
        scope.require("chain_rules")
    elif not scope.allows_store(store_id):
        raise repo_permission(scope)
    key = (KPI_TARGETS_KEY, store_id or 0)
    setting = session.get(AppSetting, key)
    before = None if setting is None else dict(setting.value or {})
    if setting is None:
        setting = AppSetting(key=KPI_TARGETS_KEY, store_id=store_id or 0)
    setting.value = {k: float(v) for k, v in targets.items()}
    setting.updated_by = scope.actor
    session.add(setting)
    repo.record_audit(
        session,
        actor=scope.actor,
        action="kpi_targets.save",
        entity="app_setting",
        entity_id=KPI_TARGETS_KEY,
        store_id=store_id,
        before=before,
        after=setting.value,
    )


def repo_permission(scope: Scope) -> Exception:
    from core.scope import PermissionDenied

    return PermissionDenied(f"{scope.actor} may not change another store's settings")


# ------------------------------------------------------------------------------ KPI inputs
def load_kpi_inputs(
    session: Session,
    *,
    scope: Scope,
    store_ids: Sequence[int] | None = None,
    until: date | None = None,
) -> dict[str, pd.DataFrame]:
    """The frames ``core.kpi.kpi_board`` reads, for the caller's stores.

    Returns ``{"bookings", "customers", "messages", "tasks", "feedback"}`` with the column
    contracts of :mod:`core.kpi` (store-local times; messages/tasks by their ``store_id``).
    """
    from core.kpi import FEEDBACK_COLUMNS, MESSAGE_COLUMNS, TASK_COLUMNS
    from db.models import Booking, Feedback, Message, Task

    stores = repo.allowed_store_ids(scope=scope, store_ids=list(store_ids) if store_ids is not None else None)
    store_list = list(store_ids) if store_ids is not None else None
    bookings = repo.load_bookings(session, scope=scope, store_ids=store_list, until=until)
    customers = repo.load_customers(session, scope=scope, store_ids=store_list)
    timezones = repo.store_timezones(session)

    def scoped(statement: Any, column: Any) -> Any:
        return in_stores(statement, column, stores)

    # A holdout row is never sent: its scheduled time is when it would have gone out, the moment
    # the holdout arm of the uplift is measured from.
    contacted_at = case((Message.status == "holdout", Message.scheduled_for), else_=Message.sent_at)
    rows = session.execute(
        scoped(
            select(
                Message.id,
                Message.campaign_id,
                Message.customer_id,
                Message.store_id,
                Message.status,
                contacted_at,
                Message.cost,
            ),
            Message.store_id,
        )
    ).all()
    messages = pd.DataFrame(rows, columns=list(MESSAGE_COLUMNS))
    messages["sent_at"] = localtime.to_local(messages["sent_at"], messages["store_id"], timezones)
    messages["cost"] = messages["cost"].astype(float)
    rows = session.execute(
        scoped(select(Task.id, Task.store_id, Task.customer_id, Task.status, Task.created_at), Task.store_id)
    ).all()
    tasks = pd.DataFrame(rows, columns=list(TASK_COLUMNS))
    tasks["created_at"] = localtime.to_local(tasks["created_at"], tasks["store_id"], timezones)
    rows = session.execute(
        scoped(
            select(Feedback.booking_id, Feedback.complaint).join(Booking, Booking.id == Feedback.booking_id),
            Booking.store_id,
        )
    ).all()
    feedback = pd.DataFrame(rows, columns=list(FEEDBACK_COLUMNS))
    feedback["complaint"] = feedback["complaint"].astype(bool)
    return {"bookings": bookings, "customers": customers, "messages": messages, "tasks": tasks, "feedback": feedback}
