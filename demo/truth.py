"""The demo world's ground truth in the database: a demo-only table, outside the app's schema.

`demo.world` generates a ``truth`` frame describing the process behind each subject's bookings
(true cadence, churn moment, no-show propensity, designated staff, archetype). Building the demo
writes it to ``demo_truth``, a table of this module's own `MetaData`: it is created when the
demo is built, never by the app's models or its Alembic migrations (which leave ``demo_*``
tables alone), and carries no foreign key into the app's tables.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, delete, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel.sql.sqltypes import UTCDateTime

__all__ = ["DEMO_METADATA", "create_truth_table", "demo_truth", "read_truth"]

#: The demo package's own tables (never part of ``SQLModel.metadata``).
DEMO_METADATA = MetaData()

demo_truth = Table(
    "demo_truth",
    DEMO_METADATA,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, nullable=False, index=True),
    Column("pet_id", Integer, nullable=True),
    Column("true_cadence_days", Float, nullable=False),
    Column("churned_at", UTCDateTime(), nullable=True),
    Column("noshow_propensity", Float, nullable=False, default=0.0),
    Column("designated_staff_id", Integer, nullable=True),
    Column("archetype", String(32), nullable=False, default=""),
)


def create_truth_table(connection: Connection) -> None:
    """Create ``demo_truth`` if absent and empty it (a new demo replaces any former truth).

    Parameters
    ----------
    connection
        An open connection inside the caller's transaction.
    """
    DEMO_METADATA.create_all(connection, checkfirst=True)
    connection.execute(delete(demo_truth))


def read_truth(engine: Engine) -> pd.DataFrame:
    """The stored ground truth, one row per subject (empty when no demo was built here).

    Parameters
    ----------
    engine
        The demo database.

    Returns
    -------
    pandas.DataFrame
        Columns of ``demo.catalog.TRUTH_COLUMNS``; ``churned_at`` in UTC.
    """
    columns = [c for c in demo_truth.c if c.name != "id"]
    if not inspect(engine).has_table(demo_truth.name):
        return pd.DataFrame(columns=[c.name for c in columns])
    with engine.connect() as connection:
        rows = connection.execute(select(*columns).order_by(demo_truth.c.id)).all()
    return pd.DataFrame(rows, columns=[c.name for c in columns])
