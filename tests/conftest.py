"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, cleaned before each test.

PostgreSQL comes from ``REVISIT_TEST_PG_URL`` (default: the local server's ``postgres`` role on
127.0.0.1:5432). Each test session creates its own database, so parallel runs never collide.
Under CI=true an unreachable PostgreSQL fails the run; elsewhere those tests skip with a reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from db.engine import make_engine
from db.migrate import upgrade

PG_ADMIN_URL = os.environ.get("REVISIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        admin.dispose()
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)", pytrace=False)
        pytest.skip(message)
    name = f"revisit_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = _pg_database_url(name)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("db") / "revisit-test.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def clean_all_tables(engine: Engine) -> None:
    """Empty every table (fast alternative to re-migrating per test)."""
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A clean, migrated database; every test using it runs on SQLite and on PostgreSQL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    db_engine = make_engine(url)
    clean_all_tables(db_engine)
    yield db_engine
    db_engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """A clean SQLite database, for tests that exercise the app rather than the dialects."""
    db_engine = make_engine(sqlite_url)
    clean_all_tables(db_engine)
    yield db_engine
    db_engine.dispose()


@pytest.fixture
def empty_streamlit_caches() -> Iterator[None]:
    """Start and end with empty Streamlit caches (the page loaders' memory), as a restarted server."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Every test reads the environment as it finds it: no settings or default engine cached under
    an earlier test's monkeypatched environment (a stale DATABASE_URL points at another database)."""
    from dashboard import settings
    from db import engine as db_engine

    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    yield
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()


TIERS = ("unit", "db", "pages", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its tier, the folder it lives in (``-m unit`` runs the fast tier)."""
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts
        tier = parts[1] if len(parts) > 2 and parts[0] == "tests" else None
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skipped test is a failure: PostgreSQL, MySQL and Chromium must be there."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if IN_CI and skipped and exitstatus == 0:
        if reporter is not None:
            reporter.write_line(f"{skipped} test(s) skipped under CI=true: every tier must run in CI", red=True)
        session.exitstatus = 1
