"""`python -m dashboard.cli import …`: the JSON contract, exit codes and exact counts (RELIABILITY 7, 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import cli, settings
from db import engine as db_engine
from db import importer
from tests.support import make_import_fixtures as fx
from tests.support.factories import small_world

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return fx.write_all(tmp_path / "files")


@pytest.fixture
def cli_db(sqlite_engine, monkeypatch, tmp_path):
    small_world(sqlite_engine)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path / "rejects"))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    yield sqlite_engine
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()


def run(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.strip()]
    assert len(lines) <= 1, "the command prints one JSON object"
    return code, json.loads(lines[0]) if lines else None, captured.err


KEYS = {"read", "imported", "duplicates", "rejected", "reject_report"}


def test_import_big5_then_reimport(cli_db, files, capsys) -> None:
    code, out, _ = run(capsys, "import", "bookings", str(files["bookings_big5_roc.csv"]))
    assert code == 0 and KEYS <= set(out)
    assert {k: out[k] for k in ("read", "imported", "duplicates", "rejected")} == fx.BIG5_COUNTS
    assert Path(out["reject_report"]).exists()
    code, again, _ = run(capsys, "import", "bookings", str(files["bookings_big5_roc.csv"]))
    assert code == 0 and again["imported"] == 0 and again["duplicates"] == 6


def test_import_gbk_with_country_and_xlsx_with_store(cli_db, files, capsys) -> None:
    code, out, _ = run(capsys, "import", "bookings", str(files["bookings_gbk.csv"]), "--country", "CN")
    assert code == 0 and {k: out[k] for k in ("read", "imported", "duplicates", "rejected")} == fx.GBK_COUNTS
    assert Path(out["reject_report"]).exists()  # the in-file duplicate is listed
    code, out, _ = run(capsys, "import", "bookings", str(files["bookings_pets.xlsx"]), "--store", "A01")
    assert code == 0 and {k: out[k] for k in ("read", "imported", "duplicates", "rejected")} == fx.XLSX_COUNTS


def test_dry_run_and_map(cli_db, files, capsys) -> None:
    before = importer.booking_counts(cli_db)
    code, out, _ = run(
        capsys,
        "import",
        "bookings",
        str(files["bookings_big5_roc.csv"]),
        "--dry-run",
        "--map",
        "customer_id=會員編號",
        "--map",
        "store=門市",
    )
    assert code == 0 and out["imported"] == 5 and out["status"] == "dry_run"
    assert importer.booking_counts(cli_db) == before


@pytest.mark.parametrize(("name", "message"), [("empty.csv", "empty"), ("binary.csv", "binary")])
def test_unusable_file_exits_2_and_changes_nothing(cli_db, files, capsys, name, message) -> None:
    before = importer.booking_counts(cli_db)
    code, out, err = run(capsys, "import", "bookings", str(files[name]))
    assert code == 2 and out is None and message in err and err.startswith("error:")
    assert importer.booking_counts(cli_db) == before


def test_bad_map_and_missing_file_exit_2(cli_db, files, capsys) -> None:
    code, _, err = run(capsys, "import", "bookings", str(files["bookings_big5_roc.csv"]), "--map", "date=nope")
    assert code == 2 and "not in the file" in err
    code, _, err = run(capsys, "import", "bookings", "/no/such/file.csv")
    assert code == 2 and "no such file" in err


def test_every_row_rejected_exits_3_with_grouped_reasons_and_report(cli_db, files, capsys) -> None:
    before = importer.booking_counts(cli_db)
    code, out, err = run(capsys, "import", "bookings", str(files["bookings_gbk.csv"]))  # CN phones read as TW
    # All 4 rows hold a mainland phone that is not a valid TW number (the first names its value).
    assert code == 3 and out["status"] == "rejected"
    assert (out["read"], out["imported"], out["duplicates"], out["rejected"]) == (4, 0, 0, 4)
    assert "4 rows: phone '13812345678' is not a valid TW phone number" in err
    assert Path(out["reject_report"]).exists() and "reject report" in err
    assert importer.booking_counts(cli_db) == before


def test_store_manager_scope_and_marketer_refused(cli_db, files, capsys) -> None:
    code, out, _ = run(capsys, "--as", "mgr_a", "import", "bookings", str(files["bookings_gbk.csv"]), "--country", "CN")
    # All for B01, outside mgr_a's scope: nothing to add is an error (exit 3), counts still reported.
    assert code == 3 and (out["imported"], out["duplicates"], out["rejected"]) == (0, 1, 3)
    code, _, err = run(capsys, "--as", "mkt_a", "import", "bookings", str(files["bookings_big5_roc.csv"]))
    assert code == 2 and "may not import" in err


def test_members_and_saved_source(cli_db, files, capsys) -> None:
    code, out, _ = run(capsys, "import", "customers", str(files["members.csv"]), "--source", "CRM")
    assert code == 0
    assert {k: out[k] for k in ("read", "imported", "updated", "duplicates", "rejected")} == fx.MEMBERS_COUNTS
    code, out, _ = run(capsys, "import", "customers", str(files["members.csv"]), "--source", "CRM")
    assert code == 0 and out["imported"] == 0 and out["updated"] == 0


def test_sql_source_via_cli(cli_db, tmp_path, capsys, monkeypatch) -> None:
    from sqlalchemy import text

    from db.engine import make_engine

    monkeypatch.setenv("REVISIT_SOURCE_DIRS", str(tmp_path))
    monkeypatch.setenv("REVISIT_SOURCE_KEY", "s" * 40)
    settings.load_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'pos.db'}"
    pos = make_engine(url)
    with pos.begin() as connection:
        connection.execute(
            text("CREATE TABLE v (order_no TEXT, member_no TEXT, visit_at TEXT, store TEXT, updated TEXT)")
        )
        connection.execute(
            text(
                "INSERT INTO v VALUES ('S1','A-1','2024-05-01 10:00','A01','1'), ('S2','A-2','2024-05-02 10:00','A01','2')"
            )
        )
    pos.dispose()
    code, _, err = run(capsys, "sources", "add", "pos", "--url", url, "--table", "v", "--watermark", "updated")
    assert code == 0, err
    args = [
        "import",
        "sql",
        "pos",
        "--map",
        "booking_id=order_no",
        "--map",
        "customer_id=member_no",
        "--map",
        "date=visit_at",
    ]
    code, out, _ = run(capsys, *args)
    assert code == 0 and (out["read"], out["imported"], out["watermark"]) == (2, 2, "2")
    code, out, _ = run(capsys, *args)
    assert code == 0 and (out["read"], out["imported"], out["duplicates"]) == (1, 0, 1)
    code, _, err = run(capsys, "import", "sql", "pos", "--query", "UPDATE v SET store='x'")
    assert code == 2 and "SELECT" in err
    code, _, err = run(capsys, "import", "sql", url, "--table", "v")
    assert code == 2 and "registered source" in err


def test_module_entrypoint_prints_one_json_object(cli_db, files) -> None:
    env = {
        "DATABASE_URL": str(cli_db.url),
        "PYTHONPATH": str(ROOT),
        "PATH": "/usr/bin:/bin",
        "REVISIT_REJECT_DIR": str(files["empty.csv"].parent / "rejects"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "import", "bookings", str(files["bookings_big5_roc.csv"]), "--dry-run"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["read"] == 9


# ------------------------------------------------------------------ a new installation's first run


@pytest.fixture
def empty_db(sqlite_engine, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path / "rejects"))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    yield sqlite_engine
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()


def test_empty_database_only_customer_and_date_mapped(empty_db, tmp_path, capsys) -> None:
    path = tmp_path / "groom.csv"
    path.write_bytes(fx.groom_big5_csv())
    code, out, err = run(capsys, "import", "bookings", str(path), "--map", "customer_id=飼主編號", "--map", "date=日期")
    assert code == 0 and KEYS <= set(out) and out["status"] == "done"
    assert {k: out[k] for k in ("read", "imported", "duplicates", "rejected")} == fx.GROOM_COUNTS
    assert out["created_store"] == {"code": "MAIN", "name": "Main store"} and "created store MAIN" in err
    counts = importer.booking_counts(empty_db)
    assert (counts["store"], counts["customer"], counts["booking"]) == (1, 3, 5)


def test_empty_database_with_store_code(empty_db, tmp_path, capsys) -> None:
    path = tmp_path / "groom.csv"
    path.write_bytes(fx.groom_big5_csv())
    code, out, _ = run(capsys, "import", "bookings", str(path), "--store", "GROOM")
    assert code == 0 and out["imported"] == 5 and out["created_store"]["code"] == "GROOM"


def test_several_stores_need_store_option(cli_db, tmp_path, capsys) -> None:
    path = tmp_path / "groom.csv"
    path.write_bytes(fx.groom_big5_csv())
    before = importer.booking_counts(cli_db)
    code, out, err = run(capsys, "import", "bookings", str(path))
    assert code == 3 and out["imported"] == 0
    assert "5 rows: several stores: choose the store (--store CODE)" in err
    assert importer.booking_counts(cli_db) == before


def test_unmapped_name_column_is_warned(empty_db, tmp_path, capsys) -> None:
    path = tmp_path / "members.csv"
    path.write_text("會員編號,日期,聯絡人姓名\r\nA,2024-05-01,王小美\r\n", encoding="utf-8")
    code, out, err = run(capsys, "import", "bookings", str(path))
    assert code == 0 and out["imported"] == 1
    assert "warning: no column is mapped to customer_name, but '聯絡人姓名' looks like one" in err


def _cdnow() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("lifetimes")  # located, not imported (its import tweaks pandas options)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"


def test_public_cdnow_log_on_an_empty_database(empty_db, capsys) -> None:
    # Counted along another path: the whitespace-separated file read line by line. Rows with the
    # same customer and day are one visit (no booking id tells them apart): duplicates.
    lines = [line.split() for line in _cdnow().read_text().splitlines() if line.strip()]
    body = lines[1:]
    visits = {(r[0], r[1]) for r in body}
    code, out, err = run(
        capsys,
        "import",
        "bookings",
        str(_cdnow()),
        "--map",
        "customer_id=customer_id",
        "--map",
        "date=date",
        "--map",
        "quantity=number_of_cds",
        "--map",
        "amount=dollar_value",
    )
    assert code == 0, err
    assert (out["read"], out["imported"], out["duplicates"], out["rejected"]) == (
        len(body),
        len(visits),
        len(body) - len(visits),
        0,
    )
    counts = importer.booking_counts(empty_db)
    assert counts["customer"] == len({r[0] for r in body}) and counts["store"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,date,note\r\nA,2024-05-01," + b"x" * 200_000 + b"\r\n", "longer than 32,767 characters"),
        (b"," * 1_000_000 + b"\r\n", "more than 1,000 columns"),
    ],
)
def test_hostile_files_exit_2_without_traceback(empty_db, tmp_path, capsys, content, message) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    code, out, err = run(capsys, "import", "bookings", str(path))
    assert code == 2 and out is None and message in err and "Traceback" not in err
    assert importer.booking_counts(empty_db) == dict.fromkeys(importer.booking_counts(empty_db), 0)


def test_locked_database_exits_1_with_a_clear_message(empty_db, tmp_path, capsys) -> None:
    import sqlite3

    path = tmp_path / "groom.csv"
    path.write_bytes(fx.groom_big5_csv())
    db_engine.get_engine(settings.load_settings().database_url).dispose()
    from dashboard.cli.common import open_engine

    open_engine()  # migrate first: the lock below is taken on an up-to-date database
    holder = sqlite3.connect(empty_db.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        code, out, err = run(capsys, "import", "bookings", str(path), "--wait", "0.2")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 1 and out["status"] == "failed" and out["imported"] == 0
    assert "another import or job is writing; try again" in err and "Traceback" not in err
    assert importer.booking_counts(empty_db) == dict.fromkeys(importer.booking_counts(empty_db), 0)


def test_an_import_that_brings_one_person_twice_says_so(cli_db, tmp_path, capsys) -> None:
    """Two member numbers with one phone at two stores: the import names the possible duplicate."""
    members = tmp_path / "members.csv"
    members.write_text(
        "會員編號,姓名,手機,門市\nX-1,陳美美,0933111222,A01\nX-2,陳美美,0933-111-222,B01\n", encoding="utf-8"
    )
    code, out, err = run(capsys, "import", "customers", str(members))
    assert code == 0 and out["imported"] == 2
    assert "1 pairs of members may be the same person" in err
    code, out, err = run(capsys, "import", "customers", str(members))
    assert code == 0 and out["imported"] == 0 and "same person" not in err
