"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from datetime import date

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import db.models  # noqa: F401
from db.migrate import include_object


def test_models_and_migrations_agree(engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_the_demo_truth_lives_outside_the_app_schema(engine) -> None:
    """Building a demo writes its ground truth to the demo's own table (read back row for row);
    the app's models never describe it, and models and migrations still agree afterwards."""
    from demo.load import load_world
    from demo.truth import read_truth
    from demo.world import generate_world

    world = generate_world(n_customers=60, seed=4, end_date=date(2026, 11, 22))
    load_world(engine, [world])
    truth = read_truth(engine)
    assert len(truth) == len(world.truth) > 60  # pet owners count once per pet
    assert truth["customer_id"].tolist() == world.truth["customer_id"].tolist()
    assert truth["true_cadence_days"].tolist() == world.truth["true_cadence_days"].astype(float).tolist()
    assert truth["archetype"].tolist() == world.truth["archetype"].tolist()
    assert not [name for name in SQLModel.metadata.tables if "truth" in name]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
        assert compare_metadata(context, SQLModel.metadata) == []
