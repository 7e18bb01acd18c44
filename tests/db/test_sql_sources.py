"""SQL sources under attack (RELIABILITY 23, 24): registered, read-only in depth, scoped to stores.

The attacks run against a real PostgreSQL source reached as the server's superuser — the worst
registration a chain admin could make — so what refuses them is the product, not the database's
permissions. Each test checks the state afterwards: roles in the app database, rows in the
source, files on disk.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from core.scope import PermissionDenied, Scope
from core.sources import CheckedQuery, SourceQueryError, check_select
from dashboard import cli, settings
from db import engine as db_engine
from db.engine import session_scope
from db.models import AuditLog, Booking, Customer, SqlSource, User
from db.sql_source import ReadLimits, SqlSourceError, parse_source_url, read_rows
from services.sources import SourceError, SourcePolicy, check_source_url, read_source, register_source
from tests.conftest import IN_CI, PG_ADMIN_URL, _pg_database_url
from tests.support.factories import small_world

KEY = "k" * 40
ADMIN = Scope.system("test-admin")


@pytest.fixture(scope="module")
def pos_pg() -> Iterator[str]:
    """A shop's PostgreSQL booking database (a table to read, a table that must survive)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL} (required under CI=true)", pytrace=False)
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}")
    name = f"revisit_pos_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = _pg_database_url(name)
    pos = create_engine(url)
    with pos.begin() as connection:
        connection.execute(
            text("CREATE TABLE visits (order_no text, member_no text, visit_at text, store text, updated int)")
        )
        connection.execute(
            text(
                "INSERT INTO visits VALUES ('S1','M-1','2026-05-01 10:00','A01',1), "
                "('S2','M-2','2026-05-02 11:00','A01',2), ('S3','M-3','2026-05-03 12:00','B01',3)"
            )
        )
        connection.execute(text("CREATE TABLE staff_salaries (name text, salary int)"))
        connection.execute(text("CREATE SEQUENCE order_seq"))
        connection.execute(text("INSERT INTO staff_salaries VALUES ('Amy', 42000)"))
    pos.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _source_state(url: str) -> tuple[int, int]:
    check = create_engine(url)
    with check.connect() as connection:
        visits = connection.execute(text("select count(*) from visits")).scalar_one()
        salaries = connection.execute(text("select count(*) from staff_salaries")).scalar_one()
    check.dispose()
    return visits, salaries


def _roles(engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return {u.username: u.role for u in session.scalars(select(User))}


def _policy(engine, *, hosts=("127.0.0.1",), dirs=()) -> SourcePolicy:
    return SourcePolicy(
        app_database_url=str(engine.url.render_as_string(hide_password=False)),
        secret_key=KEY,
        allowed_hosts=tuple(hosts),
        allowed_dirs=tuple(Path(d) for d in dirs),
    )


ATTACKS = [
    # The smuggled second statement from the report: `--` inside a string, then COMMIT and a write.
    "SELECT '--' AS x, 1 AS wm) s; COMMIT; UPDATE app_user SET role='chain_admin' WHERE username='mgr_a'; --",
    "SELECT 1; DELETE FROM staff_salaries",
    "select * from visits; commit",
    "COPY (SELECT 1) TO PROGRAM 'touch /tmp/revisit-pwned'",
    "select pg_read_file('/etc/hostname')",
    "select lo_import('/etc/passwd')",
    "select * from dblink('dbname=postgres', 'select 1') as t(a int)",
    "select load_extension('/tmp/evil')",
    "select set_config('default_transaction_read_only', 'off', false)",
    "with gone as (delete from staff_salaries returning *) select * from gone",
    "select * into stolen from visits",
    "select * from visits for update",
    "select * from pg_catalog.pg_authid",
    "select query_to_xml('delete from staff_salaries', true, true, '')",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_parser_refuses_each_attack(attack: str) -> None:
    with pytest.raises(SourceQueryError):
        check_select(attack, dialect="postgresql")


@pytest.mark.parametrize(
    ("query", "tables"),
    [
        ("select order_no, member_no from visits where note = '--;' and store = 'A01'", ("visits",)),
        ("with recent as (select * from pos.visits) select * from recent", ("pos.visits",)),
        ("select upper(store), count(*) from visits group by 1", ("visits",)),
        ("select * from visits;", ("visits",)),
    ],
)
def test_parser_accepts_plain_selects(query: str, tables: tuple[str, ...]) -> None:
    assert check_select(query, dialect="postgresql").tables == tables


def test_allowed_tables_bind_a_query() -> None:
    assert check_select("select * from pos.visits v join pos.stores s on 1=1", allowed_tables=["pos.*"]).tables == (
        "pos.visits",
        "pos.stores",
    )
    with pytest.raises(SourceQueryError, match="staff_salaries"):
        check_select("select * from visits join staff_salaries on 1=1", allowed_tables=["visits"])


def test_server_refuses_a_smuggled_statement_even_past_the_parser(pos_pg, tmp_path) -> None:
    """Second layer: a statement that skipped the parser still reaches the server as one bound statement."""
    marker = tmp_path / "pwned"
    url = parse_source_url(pos_pg)
    for smuggled in (
        "select 1 as a) s; delete from staff_salaries; select * from (select 1",
        f"select 1 as a) s; COMMIT; COPY (SELECT 1) TO PROGRAM 'touch {marker}'; select * from (select 1",
    ):
        with pytest.raises(SqlSourceError, match="multiple commands"):
            read_rows(url=url, query=CheckedQuery(sql=smuggled, tables=()))
    # Third layer: the session is read-only even for a single writing statement.
    with pytest.raises(SqlSourceError, match="read-only transaction"):
        read_rows(url=url, query=CheckedQuery(sql="select nextval('order_seq') as n", tables=()))
    assert _source_state(pos_pg) == (3, 1)
    assert not marker.exists()


def test_statement_timeout_and_row_cap(pos_pg) -> None:
    url = parse_source_url(pos_pg)
    with pytest.raises(SqlSourceError, match="statement timeout"):
        read_rows(
            url=url,
            query=CheckedQuery(sql="select * from generate_series(1, 1000000000) g", tables=()),
            limits=ReadLimits(timeout_seconds=1),
        )
    with pytest.raises(SqlSourceError, match="more than 2 rows"):
        read_rows(url=url, table="visits", limits=ReadLimits(max_rows=2))
    frame, _ = read_rows(url=url, table="visits", limits=ReadLimits(max_rows=3))
    assert list(frame["order_no"]) == ["S1", "S2", "S3"]


def test_sqlite_source_is_opened_read_only(tmp_path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(SqlSourceError, match="does not exist"):
        read_rows(url=parse_source_url(f"sqlite:///{missing}"), table="visits")
    assert not missing.exists()
    shop = tmp_path / "shop.db"
    with sqlite3.connect(shop) as connection:
        connection.execute("create table visits (order_no text)")
        connection.execute("insert into visits values ('S1')")
    url = parse_source_url(f"sqlite:///{shop}")
    for refused in (
        "select load_extension('/tmp/evil')",
        "with g as (delete from visits returning *) select * from g",
        "select writefile('/tmp/revisit-pwned', 'x')",
    ):
        with pytest.raises(SqlSourceError):
            read_rows(url=url, query=CheckedQuery(sql=refused, tables=()))
    frame, _ = read_rows(url=url, table="visits")
    assert list(frame["order_no"]) == ["S1"]
    with sqlite3.connect(shop) as connection:
        assert connection.execute("select count(*) from visits").fetchone() == (1,)


def test_url_policy(engine, tmp_path) -> None:
    policy = _policy(engine, hosts=("db.shop.example",), dirs=(tmp_path / "allowed",))
    (tmp_path / "allowed").mkdir()
    with pytest.raises(SourceError) as refused:
        check_source_url("postgresql://reader@10.0.0.9/pos", policy)
    assert refused.value.code == "host_not_allowed"
    with pytest.raises(SourceError, match="host"):
        check_source_url("postgresql://reader@db.shop.example/pos?host=/var/run/postgresql", policy)
    assert check_source_url("postgresql://reader:pw@db.shop.example/pos", policy).host == "db.shop.example"
    # The app's own database is refused whatever the allow-list says.
    own = engine.url.render_as_string(hide_password=False)
    open_policy = _policy(
        engine, hosts=("127.0.0.1", "localhost"), dirs=(tmp_path, Path(engine.url.database or "/").parent)
    )
    with pytest.raises(SourceError) as refused:
        check_source_url(own.replace("+psycopg", ""), open_policy)
    assert refused.value.code == "app_database"
    outside = tmp_path / "outside.db"
    sqlite3.connect(outside).close()
    with pytest.raises(SourceError) as refused:
        check_source_url(f"sqlite:///{outside}", policy)
    assert refused.value.code == "local_file"
    missing = tmp_path / "allowed" / "missing.db"
    with pytest.raises(SourceError) as refused:
        check_source_url(f"sqlite:///{missing}", policy)
    assert refused.value.code == "missing_file" and not missing.exists()


def test_only_a_chain_admin_registers_and_credentials_stay_hidden(engine, pos_pg) -> None:
    small_world(engine)
    manager = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({1}))
    policy = _policy(engine)
    with pytest.raises(PermissionDenied):
        register_source(engine, manager, name="pos", url=pos_pg, policy=policy, table="visits")
    secret_url = pos_pg.replace("postgres@", "postgres:S3cretPw@")
    info = register_source(
        engine, ADMIN, name="pos", url=secret_url, policy=policy, table="visits", watermark_column="updated"
    )
    assert "S3cretPw" not in info.shown_url
    with session_scope(engine) as session:
        row = session.scalars(select(SqlSource)).one()
        audits = [json.dumps(a.after) for a in session.scalars(select(AuditLog))]
    assert b"S3cretPw" not in row.secret and "S3cretPw" not in row.shown_url
    assert audits and not any("S3cretPw" in a for a in audits)


def test_a_source_is_read_only_for_its_stores(engine, pos_pg) -> None:
    world = small_world(engine)
    policy = _policy(engine)
    register_source(engine, ADMIN, name="pos-b", url=pos_pg, policy=policy, table="visits", store_codes=["B01"])
    manager_a = Scope(actor="mgr_a", role="store_manager", store_ids=frozenset({world["store_a"]}))
    with pytest.raises(SourceError) as refused:
        read_source(engine, manager_a, name="pos-b", policy=policy)
    assert refused.value.code == "not_registered"
    manager_b = Scope(actor="mgr_b", role="store_manager", store_ids=frozenset({world["store_a"], world["store_b"]}))
    read = read_source(engine, manager_b, name="pos-b", policy=policy)
    assert read.import_scope.store_ids == frozenset({world["store_b"]}) and len(read.frame) == 3
    # A manager may not name a table of their own unless the admin allowed some.
    with pytest.raises(SourceError) as refused:
        read_source(engine, manager_b, name="pos-b", policy=policy, query="select * from staff_salaries")
    assert refused.value.code == "no_override"


@pytest.fixture
def cli_env(engine, monkeypatch, tmp_path):
    """The CLI on the `engine` database, with 127.0.0.1 allowed as a source host."""
    small_world(engine)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path / "rejects"))
    monkeypatch.setenv("REVISIT_SOURCE_HOSTS", "127.0.0.1")
    monkeypatch.setenv("REVISIT_SOURCE_KEY", KEY)
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    yield engine
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _customers(engine) -> set[str]:
    with session_scope(engine) as session:
        return set(session.scalars(select(Customer.external_id)))


def test_cli_attacks_change_nothing(cli_env, pos_pg, capsys) -> None:
    engine = cli_env
    code, _, err = _run(capsys, "--as", "mgr_a", "sources", "add", "pos", "--url", pos_pg, "--table", "visits")
    assert code == 2 and "manage_sources" in err
    code, out, err = _run(
        capsys,
        "sources",
        "add",
        "pos",
        "--url",
        pos_pg,
        "--table",
        "visits",
        "--watermark",
        "updated",
        "--allow-table",
        "visits",
        "--store",
        "A01",
    )
    assert code == 0, err
    roles, customers = _roles(engine), _customers(engine)
    # Typing a URL is refused for everybody, the app's own database included.
    own = engine.url.render_as_string(hide_password=False)
    for url in (pos_pg, own):
        code, _, err = _run(capsys, "--as", "mgr_a", "import", "sql", url, "--watermark", "updated")
        assert code == 2 and "registered source" in err
    for attack in ATTACKS:
        code, out, err = _run(
            capsys,
            "--as",
            "mgr_a",
            "import",
            "sql",
            "pos",
            "--query",
            attack,
            "--map",
            "customer_id=member_no",
            "--map",
            "date=visit_at",
            "--dry-run",
        )
        assert code == 2 and out == "", attack
        assert "Traceback" not in err
    code, _, err = _run(capsys, "--as", "mgr_a", "import", "sql", "pos", "--query", "select * from staff_salaries")
    assert code == 2 and "allowed tables" in err
    assert _roles(engine) == roles and _customers(engine) == customers
    assert _source_state(pos_pg) == (3, 1)


def test_cli_manager_imports_a_registered_source_into_their_store(cli_env, pos_pg, capsys) -> None:
    engine = cli_env
    code, _, err = _run(
        capsys,
        "sources",
        "add",
        "pos",
        "--url",
        pos_pg,
        "--table",
        "visits",
        "--watermark",
        "updated",
        "--store",
        "A01",
    )
    assert code == 0, err
    code, out, err = _run(capsys, "--as", "desk_b", "import", "sql", "pos")
    assert code == 2 and "import" in err
    args = [
        "--as",
        "mgr_a",
        "import",
        "sql",
        "pos",
        "--map",
        "booking_id=order_no",
        "--map",
        "customer_id=member_no",
        "--map",
        "date=visit_at",
        "--map",
        "store=store",
    ]
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    summary = json.loads(out)
    # Rows of store B01 are refused: the source feeds A01 and the manager manages A01 only.
    assert (summary["read"], summary["imported"], summary["rejected"]) == (3, 2, 1)
    with session_scope(engine) as session:
        stores = set(session.scalars(select(Booking.store_id).where(Booking.external_id.in_(["S1", "S2", "S3"]))))
    assert stores == {1}
    # A re-sync reads again from the last watermark (S3, store B01): that row alone is refused again,
    # so by the import contract (every row rejected) the command exits 3 and changes nothing.
    code, out, err = _run(capsys, *args)
    assert (code, json.loads(out)["read"], json.loads(out)["imported"]) == (3, 1, 0)
    assert "1 row" in err
    code, out, _ = _run(capsys, "--as", "mgr_a", "sources", "list", "--json")
    listed = json.loads(out)
    assert [s["name"] for s in listed] == ["pos"] and listed[0]["stores"] == ["A01"]


def _snake_case_labels(app) -> list[str]:
    import re

    labels = [
        str(w.label)
        for kind in ("text_input", "text_area", "selectbox", "multiselect", "button")
        for w in getattr(app, kind)
    ]
    return [label for label in labels if re.search(r"\b[a-z]+_[a-z_]+\b", label)]


def test_data_page_registers_and_syncs_a_source_in_zh_tw(sqlite_engine, monkeypatch, tmp_path) -> None:
    """A chain admin registers a SQLite source on the Data page; its manager syncs it; nobody else types a URL."""
    from tests.support.apptest_helpers import run_as, texts, use_database

    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_SOURCE_DIRS", str(tmp_path))
    monkeypatch.setenv("REVISIT_SOURCE_KEY", KEY)
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path / "rejects"))
    settings.load_settings.cache_clear()
    shop = tmp_path / "pos.db"
    with sqlite3.connect(shop) as connection:
        connection.execute("create table visits (order_no text, member_no text, visit_at text, updated int)")
        connection.execute(
            "insert into visits values ('S1','M-1','2026-05-01 10:00',1), ('S2','M-2','2026-05-02 11:00',2)"
        )

    manager = run_as("mgr_a", page="../pages/data_import.py", locale="zh-TW")
    assert not manager.exception
    assert "尚未登記可用的資料庫來源" in texts(manager)
    assert not [w for w in manager.text_input if w.key and w.key.endswith(".url")]

    admin = run_as("admin", page="../pages/data_import.py", locale="zh-TW")
    admin.text_input(key="data_import.sources.name").input("pos-a")
    admin.text_input(key="data_import.sources.url").input(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    admin.text_input(key="data_import.sources.table").input("visits")
    admin.button(key="data_import.sources.register_submit").click().run()
    assert not admin.exception
    assert [str(e.value) for e in admin.error] == ["找不到這個資料庫檔案。"]
    assert not (tmp_path / "elsewhere.db").exists()
    admin.text_input(key="data_import.sources.url").input(f"sqlite:///{shop}")
    admin.text_input(key="data_import.sources.watermark").input("updated")
    admin.multiselect(key="data_import.sources.stores").select("A01")
    admin.button(key="data_import.sources.register_submit").click().run()
    assert not admin.exception and any("pos-a" in str(s.value) for s in admin.success)
    assert str(shop) not in texts(admin)
    # Rows without a store can only go to a store the source feeds.
    assert admin.selectbox(key="data_import.sources.store.pos-a").options == ["A01"]
    assert _snake_case_labels(admin) == []

    manager = run_as("mgr_a", page="../pages/data_import.py", locale="zh-TW")
    shown = [str(cell) for frame in manager.dataframe for cell in frame.value.astype(str).to_numpy().ravel()]
    assert "pos-a" in shown and not any(str(shop) in cell for cell in shown)  # the manager sees no address
    manager.text_area(key="data_import.sources.map").input("booking_id=order_no\ncustomer_id=member_no\ndate=visit_at")
    manager.button(key="data_import.sources.sync").click().run()
    assert not manager.exception
    metrics = {m.label: m.value for m in manager.metric}
    assert list(metrics.values())[:2] == ["2", "2"]
    with session_scope(sqlite_engine) as session:
        imported = set(session.scalars(select(Booking.external_id).where(Booking.external_id.in_(["S1", "S2"]))))
    assert imported == {"S1", "S2"}


def test_registering_for_an_unknown_store_names_it(engine, pos_pg) -> None:
    small_world(engine)
    with pytest.raises(SourceError) as refused:
        register_source(
            engine, ADMIN, name="pos", url=pos_pg, policy=_policy(engine), table="visits", store_codes=["A01", "ZZ9"]
        )
    assert (refused.value.code, refused.value.params) == ("unknown_store", {"store": "ZZ9"})
    with session_scope(engine) as session:
        assert session.scalars(select(SqlSource)).all() == []


MYSQL_URL = "mysql://root@127.0.0.1:3306"


@pytest.fixture(scope="module")
def pos_mysql() -> Iterator[str]:
    """A shop's MySQL/MariaDB booking database (the local server, root without a password)."""
    name = f"revisit_pos_{uuid.uuid4().hex[:10]}"
    server = create_engine(parse_source_url(MYSQL_URL + "/mysql"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - no MySQL here
        server.dispose()
        if IN_CI:
            pytest.fail(f"MySQL/MariaDB not reachable at {MYSQL_URL} (required under CI=true)", pytrace=False)
        pytest.skip(f"MySQL/MariaDB not reachable at {MYSQL_URL}: {exc.__class__.__name__}")
    url = f"{MYSQL_URL}/{name}"
    with create_engine(parse_source_url(url)).begin() as connection:
        connection.execute(text("CREATE TABLE visits (order_no varchar(8), updated int)"))
        connection.execute(text("INSERT INTO visits VALUES ('S1', 1), ('S2', 2)"))
    yield url
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    server.dispose()


def test_mysql_source_reads_one_statement_read_only(pos_mysql) -> None:
    url = parse_source_url(pos_mysql)
    frame, mark = read_rows(url=url, table="visits", watermark_column="updated", since="2")
    assert (list(frame["order_no"]), mark) == (["S2"], "2")
    with pytest.raises(SqlSourceError, match="syntax"):
        read_rows(
            url=url, query=CheckedQuery(sql="select 1 as a) s; delete from visits; select * from (select 1", tables=())
        )
    for attack in (
        "select load_file('/etc/passwd')",
        "select sleep(30)",
        "select * from mysql.user",
        "select * from visits into outfile '/tmp/revisit-pwned'",
    ):
        with pytest.raises(SourceQueryError):
            check_select(attack, dialect="mysql")
    with create_engine(url).connect() as connection:
        assert connection.execute(text("select count(*) from visits")).scalar_one() == 2
