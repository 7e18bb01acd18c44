"""`python -m dashboard.cli import …`: the JSON contract, exit codes and exact counts (RELIABILITY 7, 12)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import config
from dashboard import cli
from db import engine as db_engine
from db import importer
from tests import make_import_fixtures as fx
from tests.factories import small_world

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return fx.write_all(tmp_path / "files")


@pytest.fixture
def cli_db(sqlite_engine, monkeypatch, tmp_path):
    small_world(sqlite_engine)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("REVISIT_REJECT_DIR", str(tmp_path / "rejects"))
    config.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    yield sqlite_engine
    config.load_settings.cache_clear()
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
    code, out, _ = run(capsys, "import", "bookings", str(files["bookings_big5_roc.csv"]), "--dry-run",
                       "--map", "customer_id=會員編號", "--map", "store=門市")
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


def test_every_row_rejected_exits_2_with_report(cli_db, files, capsys) -> None:
    code, _, err = run(capsys, "import", "bookings", str(files["bookings_gbk.csv"]))  # CN phones read as TW
    assert code == 2 and "reject report" in err


def test_store_manager_scope_and_marketer_refused(cli_db, files, capsys) -> None:
    code, out, _ = run(capsys, "--as", "mgr_a", "import", "bookings", str(files["bookings_gbk.csv"]), "--country", "CN")
    assert code == 0 and (out["imported"], out["duplicates"], out["rejected"]) == (0, 1, 3)  # all for B01
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
    config.load_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'pos.db'}"
    pos = make_engine(url)
    with pos.begin() as connection:
        connection.execute(text("CREATE TABLE v (order_no TEXT, member_no TEXT, visit_at TEXT, store TEXT, updated TEXT)"))
        connection.execute(text("INSERT INTO v VALUES ('S1','A-1','2024-05-01 10:00','A01','1'), ('S2','A-2','2024-05-02 10:00','A01','2')"))
    pos.dispose()
    code, _, err = run(capsys, "sources", "add", "pos", "--url", url, "--table", "v", "--watermark", "updated")
    assert code == 0, err
    args = ["import", "sql", "pos", "--map", "booking_id=order_no", "--map", "customer_id=member_no", "--map", "date=visit_at"]
    code, out, _ = run(capsys, *args)
    assert code == 0 and (out["read"], out["imported"], out["watermark"]) == (2, 2, "2")
    code, out, _ = run(capsys, *args)
    assert code == 0 and (out["read"], out["imported"], out["duplicates"]) == (1, 0, 1)
    code, _, err = run(capsys, "import", "sql", "pos", "--query", "UPDATE v SET store='x'")
    assert code == 2 and "SELECT" in err
    code, _, err = run(capsys, "import", "sql", url, "--table", "v")
    assert code == 2 and "registered source" in err


def test_module_entrypoint_prints_one_json_object(cli_db, files) -> None:
    env = {"DATABASE_URL": str(cli_db.url), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
           "REVISIT_REJECT_DIR": str(files["empty.csv"].parent / "rejects")}
    done = subprocess.run([sys.executable, "-m", "dashboard.cli", "import", "bookings",
                           str(files["bookings_big5_roc.csv"]), "--dry-run"],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["read"] == 9
