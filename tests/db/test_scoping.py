"""Store scoping at the data layer (RELIABILITY 3, 4), on SQLite and PostgreSQL.

Every read in ``db/`` is called as each scoped user of the small world (store-A manager and
marketer, store-B front desk) and must return no row of the other store, including when the
other store's ids are asked for explicitly; refusing with ``PermissionDenied`` or
``CustomerNotFound`` also counts as "no row". The chain admin is the positive control: where a
case says so, the admin must see the other store's rows, so the case is not passing vacuously.

Adding a read (scores, campaigns, segments …) is one line in ``READS``::

    Read("score_repo.load_scores", lambda c: score_repo.load_scores(c.session, scope=c.scope), col("store_id")),
"""

from __future__ import annotations

import inspect
import io
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.scope import PermissionDenied, Scope
from dashboard import exports
from db import audit_repo, privacy, repo, users
from db import loyalty as loyalty_repo
from db.engine import session_scope
from db.repo import record_audit
from db.users import scope_for
from tests.support.factories import small_world

SCOPED_USERS = ("mgr_a", "mkt_a", "desk_b")


@dataclass
class Call:
    """What a case gets: a session and engine, the caller's scope and the world's ids.

    ``mine`` is the caller's store, ``other`` the store they must never see; ``other_customer`` /
    ``other_external_id`` a customer of the other store.
    """

    session: Session
    engine: Engine
    scope: Scope
    ids: dict[str, Any]


@dataclass(frozen=True)
class Read:
    name: str
    call: Callable[[Call], Any]
    stores: Callable[[Any, dict[str, Any]], Iterable[int]]  # the store of each row returned
    control: bool = True  # the chain admin must see the other store through this read


def col(column: str) -> Callable[[pd.DataFrame, dict[str, Any]], list[int]]:
    return lambda frame, ids: [int(v) for v in frame[column].dropna()]


def customers_col(column: str) -> Callable[[pd.DataFrame, dict[str, Any]], list[int]]:
    return lambda frame, ids: [ids["customer_store"][int(v)] for v in frame[column].dropna()]


def csv_col(column: str) -> Callable[[bytes, dict[str, Any]], list[int]]:
    return lambda data, ids: [int(float(v)) for v in pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")[column]]


def store_objects(stores: list[Any], ids: dict[str, Any]) -> list[int]:
    return [int(s.id) for s in stores]


def _all_bookings(c: Call) -> pd.DataFrame:
    return repo.load_bookings(c.session, scope=Scope.system())


READS: tuple[Read, ...] = (
    # db/repo.py
    Read("repo.list_stores", lambda c: repo.list_stores(c.session, scope=c.scope), store_objects),
    Read("repo.load_bookings", lambda c: repo.load_bookings(c.session, scope=c.scope), col("store_id")),
    Read(
        "repo.load_bookings(other store)",
        lambda c: repo.load_bookings(c.session, scope=c.scope, store_ids=[c.ids["other"]]),
        col("store_id"),
    ),
    Read(
        "repo.load_bookings(other customer)",
        lambda c: repo.load_bookings(c.session, scope=c.scope, customer_ids=[c.ids["other_customer"]]),
        col("store_id"),
    ),
    Read("repo.load_customers", lambda c: repo.load_customers(c.session, scope=c.scope), col("home_store_id")),
    Read(
        "repo.load_customers(other store)",
        lambda c: repo.load_customers(c.session, scope=c.scope, store_ids=[c.ids["other"]]),
        col("home_store_id"),
    ),
    Read(
        "repo.customer_contacts(every customer)",
        lambda c: repo.customer_contacts(c.session, scope=c.scope, customer_ids=list(c.ids["customer_store"])),
        col("home_store_id"),
    ),
    Read(
        "repo.customer_names(other store)",
        lambda c: repo.customer_names(c.session, scope=c.scope, store_ids=[c.ids["other"]]),
        lambda names, ids: [ids["customer_store"][int(i)] for i in names.index],
    ),
    Read(
        "repo.count_customers(other store)",
        lambda c: repo.count_customers(c.session, scope=c.scope, store_ids=[c.ids["other"]]),
        lambda n, ids: [ids["other"]] * n,
    ),
    Read(
        "repo.count_customers",
        lambda c: repo.count_customers(c.session, scope=c.scope),
        lambda n, ids: [ids["other"]] * (n - ids["own_customers"]),
    ),
    Read(
        "repo.latest_booking_day",
        lambda c: (
            repo.latest_booking_day(c.session, scope=c.scope),
            repo.latest_booking_day(c.session, scope=Scope("own", "system", frozenset({c.ids["mine"]}))),
        ),
        lambda days, ids: [] if days[0] in (None, days[1]) else [ids["other"]],
    ),
    # db/users.py
    Read(
        "users.scope_for",
        lambda c: scope_for(c.session, username=c.scope.actor),
        lambda s, ids: [] if s is None else sorted(s.store_ids) if s.store_ids is not None else [ids["other"]],
    ),
    Read(
        "users.list_users",
        lambda c: users.list_users(c.session, scope=c.scope),
        lambda rows, ids: [s for _, stores in rows for s in stores],
    ),
    # db/audit_repo.py
    Read("audit_repo.list_audit", lambda c: audit_repo.list_audit(c.session, scope=c.scope), col("store_id")),
    Read(
        "audit_repo.audit_filters",
        lambda c: audit_repo.audit_filters(c.session, scope=c.scope),
        lambda pair, ids: [],
        control=False,
    ),
    # db/privacy.py
    Read(
        "privacy.find_customer_id(other customer)",
        lambda c: privacy.find_customer_id(c.session, scope=c.scope, external_id=c.ids["other_external_id"]),
        lambda cid, ids: [ids["customer_store"][cid]],
    ),
    # db/loyalty/ (no loyalty rows in the small world: no positive control)
    Read(
        "loyalty_repo.store_kinds",
        lambda c: loyalty_repo.store_kinds(c.session, scope=c.scope),
        lambda kinds, ids: list(kinds),
    ),
    Read(
        "loyalty_repo.load_accounts",
        lambda c: loyalty_repo.load_accounts(c.session, scope=c.scope),
        col("home_store_id"),
        control=False,
    ),
    Read(
        "loyalty_repo.load_ledger",
        lambda c: loyalty_repo.load_ledger(c.session, scope=c.scope),
        col("home_store_id"),
        control=False,
    ),
    Read(
        "loyalty_repo.load_stored_value",
        lambda c: loyalty_repo.load_stored_value(c.session, scope=c.scope),
        col("store_id"),
        control=False,
    ),
    Read(
        "loyalty_repo.load_plans",
        lambda c: loyalty_repo.load_plans(c.session, scope=c.scope),
        col("store_id"),
        control=False,
    ),
    # dashboard/exports.py: exports and masked tables, even when handed every store's rows
    Read("exports.display_frame", lambda c: exports.display_frame(_all_bookings(c), c.scope), col("store_id")),
    Read(
        "exports.export_frame(csv)",
        lambda c: exports.export_frame(_all_bookings(c), scope=c.scope, kind="bookings", engine=c.engine),
        csv_col("store_id"),
    ),
)


def _world(engine: Engine) -> dict[str, Any]:
    ids = small_world(engine)
    with session_scope(engine) as session:
        # Audit entries tied to each store, so the audit read has rows to leak.
        record_audit(session, actor="mgr_a", action="import.bookings", store_id=ids["store_a"])
        record_audit(session, actor="desk_b", action="task_done", store_id=ids["store_b"])
    return ids


def _ids_for(world: dict[str, Any], username: str) -> dict[str, Any]:
    a, b = world["store_a"], world["store_b"]
    mine, other = (b, a) if username == "desk_b" else (a, b)
    return {
        **world,
        "mine": mine,
        "other": other,
        "other_customer": world["a1"] if other == a else world["b1"],
        "other_external_id": "A-1" if other == a else "B-1",
        "own_customers": 1 if mine == b else 2,
        "customer_store": {world["a1"]: a, world["a2"]: a, world["b1"]: b},
    }


def _run(read: Read, engine: Engine, scope: Scope, ids: dict[str, Any]) -> list[int] | None:
    """The stores of the rows ``read`` returns, or None when it refused."""
    try:
        with session_scope(engine) as session:
            result = read.call(Call(session, engine, scope, ids))
            return list(read.stores(result, ids))
    except (PermissionDenied, privacy.CustomerNotFound):
        return None


@pytest.mark.parametrize("read", READS, ids=lambda r: r.name)
def test_scoped_users_never_get_the_other_stores_rows(engine, read: Read) -> None:
    world = _world(engine)
    for username in SCOPED_USERS:
        ids = _ids_for(world, username)
        with session_scope(engine) as session:
            scope = scope_for(session, username=username)
        assert scope is not None and scope.store_ids == frozenset({ids["mine"]})
        stores = _run(read, engine, scope, ids)
        assert stores is None or ids["other"] not in stores, f"{username} saw the other store via {read.name}"


@pytest.mark.parametrize("read", [r for r in READS if r.control], ids=lambda r: r.name)
def test_chain_admin_sees_every_store_positive_control(engine, read: Read) -> None:
    world = _world(engine)
    ids = _ids_for(world, "admin")
    with session_scope(engine) as session:
        scope = scope_for(session, username="admin")
    stores = _run(read, engine, scope, ids)
    assert stores is not None and ids["store_b"] in stores


def test_empty_scope_reads_nothing_anywhere(engine) -> None:
    world = _world(engine)
    nobody = Scope(actor="nobody", role="store_manager", store_ids=frozenset())
    ids = _ids_for(world, "mgr_a")
    for read in READS:
        stores = _run(read, engine, nobody, ids)
        assert not stores, read.name


def test_cached_loaders_never_serve_one_scope_to_another(engine) -> None:
    """RELIABILITY 4: the admin's cached frame is not handed to a store-A manager afterwards."""
    from dashboard import data

    world = _world(engine)
    with session_scope(engine) as session:
        admin, manager = scope_for(session, username="admin"), scope_for(session, username="mgr_a")
    stores = (world["store_a"], world["store_b"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No runtime found, using MemoryCacheStorageManager"
        assert set(data.bookings(engine, admin, stores)["store_id"]) == set(stores)
        assert set(data.bookings(engine, manager, stores)["store_id"]) == {world["store_a"]}
        assert set(data.customers(engine, manager, stores)["home_store_id"]) == {world["store_a"]}
        assert [s.code for s in data.stores(engine, manager)] == ["A01"]


# --- coverage: a new scoped read should get a case ------------------------------------------------

STRICT_MODULES = (repo, users, audit_repo, privacy)
# Not reads of shop rows: helpers, writes, or the sign-in bootstrap that builds the scope itself.
NOT_READS = {
    "repo.allowed_store_ids",
    "repo.record_audit",
    "repo.store_timezones",
    "repo.to_local",
    "repo.to_utc",
    "repo.local_day_end_utc",
    "repo.data_version",
    "repo.listed_customer",
    "users.hash_password",
    "users.check_password",
    "users.get_user",
    "users.user_store_ids",
    "users.create_user",
    "users.set_user_stores",
    "users.set_password",
    "users.set_disabled",
    "users.invalidate_sessions",
    "users.attempt_login",
    "users.session_still_valid",
    "privacy.anonymise_customer",
    "users.enabled_scopes",  # the worker's list of whom to precompute for: scopes, not shop rows
}


def _public_functions(module: Any) -> list[str]:
    short = module.__name__.split(".")[-1]
    return [
        f"{short}.{name}"
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if fn.__module__ == module.__name__ and not name.startswith("_")
    ]


def test_every_read_in_the_security_modules_has_a_case() -> None:
    covered = {r.name.split("(")[0] for r in READS}
    missing = [
        name
        for module in STRICT_MODULES
        for name in _public_functions(module)
        if name not in covered and name not in NOT_READS
    ]
    assert missing == [], f"add a Read(...) line (or list it in NOT_READS with a reason): {missing}"


# --- every page a scoped role can open, and every CLI command, through the real entrypoints -----

# What would betray the other store on screen: its code/name, its customers' ids, names, phones.
OTHER_STORE_MARKERS = {
    "store_a": ("A01", "Store A", "A-1", "A-2", "王小美", "+886912345678", "912345678"),
    "store_b": ("B01", "Store B", "B-1", "李四", "+8613812345678", "13812345678"),
}


def _everything_shown(app: Any) -> str:
    from tests.support.apptest_helpers import texts

    parts = [texts(app)]
    parts += [frame.value.to_string() for frame in app.dataframe]
    parts += [str(t.value) for t in app.get("table")]
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in getattr(app, kind):
            parts += [str(o) for o in widget.options]
    parts += [str(getattr(chart.proto, "spec", "")) for chart in app.get("plotly_chart")]
    parts += [str(getattr(j.proto, "body", "")) for j in app.get("json")]
    return "\n".join(parts)


def _page_cases() -> list[tuple[str, str]]:
    from dashboard.navigation import pages_for

    users_and_roles = {"mgr_a": "store_manager", "mkt_a": "marketer", "desk_b": "front_desk"}
    return [(username, spec.path) for username, role in users_and_roles.items() for spec in pages_for(role)]


@pytest.mark.parametrize(("username", "page"), _page_cases())
def test_pages_show_no_row_of_the_other_store(sqlite_engine, monkeypatch, username: str, page: str) -> None:
    from tests.support.apptest_helpers import run_as, use_database

    _world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    app = run_as(username, page=f"../{page}")
    assert not app.exception, [e.value for e in app.exception]
    shown = _everything_shown(app)
    other = "store_a" if username == "desk_b" else "store_b"
    leaked = [m for m in OTHER_STORE_MARKERS[other] if m in shown]
    assert leaked == [], f"{username} on {page} sees {leaked}"


# argv (after ``--as USER``); a refusal (exit code 2) counts as "no row". One line per command.
# ``{out}`` is a file whose content is checked like the printed output.
CLI_CASES: tuple[tuple[str, ...], ...] = (
    ("loyalty", "reconcile"),
    ("privacy", "anonymise", "{other_external_id}"),
    ("score", "--as-of", "2026-11-30", "--out", "{out}"),
    ("kpi", "--as-of", "2026-11-30", "--json"),
    ("kpi", "--as-of", "2026-11-30", "--json", "--store", "{other_code}"),
    ("campaigns", "list", "--json"),
)


@pytest.mark.parametrize("argv", CLI_CASES, ids=lambda a: " ".join(a[:2]))
@pytest.mark.parametrize("username", SCOPED_USERS)
def test_cli_commands_as_a_user_show_no_row_of_the_other_store(
    engine, monkeypatch, capsys, tmp_path, argv, username
) -> None:
    from dashboard import cli, settings
    from db import engine as db_engine
    from db.models import Customer

    world = _world(engine)
    out_file = tmp_path / "out.csv"
    ids = {**_ids_for(world, username), "out": str(out_file)}
    ids["other_code"] = "A01" if ids["other"] == world["store_a"] else "B01"
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    try:
        code = cli.main(["--as", username, *(a.format(**ids) for a in argv)])
    finally:
        settings.load_settings.cache_clear()
        db_engine.get_engine.cache_clear()
    out, _err = capsys.readouterr()
    if out_file.exists():
        out += out_file.read_text(encoding="utf-8-sig")
    other = "store_a" if username == "desk_b" else "store_b"
    assert code in (0, 1, 2)
    assert [m for m in OTHER_STORE_MARKERS[other] if m in out] == []
    with session_scope(engine) as session:  # and nothing of the other store was changed
        assert session.get(Customer, ids["other_customer"]).anonymized_at is None


def test_page_check_is_not_vacuous_admin_sees_both_stores(sqlite_engine, monkeypatch) -> None:
    from tests.support.apptest_helpers import run_as, use_database

    _world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    shown = _everything_shown(run_as("admin", page="../pages/users.py"))
    assert "A01" in shown and "B01" in shown


def test_cli_check_is_not_vacuous_admin_scores_include_the_other_store(engine, monkeypatch, tmp_path) -> None:
    from dashboard import cli, settings
    from db import engine as db_engine

    _world(engine)
    out_file = tmp_path / "scores.csv"
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    try:
        assert cli.main(["--as", "admin", "score", "--as-of", "2026-11-30", "--out", str(out_file), "--quiet"]) == 0
    finally:
        settings.load_settings.cache_clear()
        db_engine.get_engine.cache_clear()
    text = out_file.read_text(encoding="utf-8-sig")
    assert "A-1" in text and "B-1" in text
