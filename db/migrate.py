"""Apply Alembic migrations programmatically (used by the CLI, the app and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Tables the app's schema does not own: the demo package keeps its ground truth in ``demo_*``.
FOREIGN_TABLE_PREFIX = "demo_"


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic comparison hook: ignore the demo's own tables (never created nor dropped here).

    Parameters
    ----------
    obj, name, type_, reflected, compare_to
        As Alembic passes them to ``include_object``.

    Returns
    -------
    bool
        False for a reflected table named ``demo_*`` that no model describes, else True.
    """
    return not (type_ == "table" and reflected and compare_to is None and (name or "").startswith(FOREIGN_TABLE_PREFIX))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema of ``engine`` up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)
