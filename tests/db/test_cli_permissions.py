"""Every CLI command checks the actor's permission like the pages do (RELIABILITY 3, 4, 25).

A refused command exits non-zero, names the missing permission, writes no file and leaves every
table as it was; the system actor (no ``--as``) keeps working; ``docs/SECURITY.md`` shows the
role × command table the code enforces.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from core.scope import PERMISSIONS, ROLES
from dashboard import cli, settings
from dashboard.cli.common import COMMAND_PERMISSIONS
from db import engine as db_engine
from db.engine import session_scope
from db.models import AuditLog, Customer
from tests.support.factories import small_world

ROOT = Path(__file__).resolve().parents[2]


def _cli(monkeypatch, engine, argv: list[str]) -> int:
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    settings.load_settings.cache_clear()
    db_engine.get_engine.cache_clear()
    try:
        return cli.main(argv)
    finally:
        settings.load_settings.cache_clear()
        db_engine.get_engine.cache_clear()


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _everything(engine) -> dict[str, list[tuple]]:
    """Every row of every table, to show that a refused command changed nothing."""
    state = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = connection.execute(select(table)).all()
            state[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return state


# What a front-desk user (desk_b, store B) tries, and the permission the refusal must name,
# written by hand from the role table in docs/SECURITY.md.
FRONT_DESK_REFUSALS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("score", "--as-of", "2026-11-30", "--out", "{out}"), "view"),
    (("score", "--as-of", "2026-11-30", "--out", "{out}", "--snapshot"), "view"),
    (("kpi", "--as-of", "2026-11-30", "--json"), "view"),
    (("kpi", "--as-of", "2026-11-30", "--json", "--store", "B01"), "view"),
    (("campaigns", "list", "--json"), "view"),
    (("campaigns", "run-due", "--now", "2026-12-01T02:00:00+00:00"), "campaign_approve"),
    (("campaigns", "simulate-bookings", "--now", "2026-12-01T02:00:00+00:00"), "import"),
    (("loyalty", "recalc", "--as-of", "2026-11-30"), "edit_rules"),
    (("loyalty", "reconcile"), "view"),
    (("warm",), "view"),
    (("privacy", "anonymise", "B-1"), "anonymise"),
    (("import", "bookings", "{csv}", "--store", "B01"), "import"),
)


@pytest.mark.parametrize(
    ("argv", "permission"), FRONT_DESK_REFUSALS, ids=lambda v: " ".join(v[:2]) if isinstance(v, tuple) else v
)
def test_front_desk_is_refused_with_the_missing_permission_named(
    engine, monkeypatch, capsys, tmp_path, argv, permission
) -> None:
    small_world(engine)
    out = tmp_path / "f.csv"
    source = tmp_path / "bookings.csv"
    source.write_text("customer_id,date,store\nB-9,2026-11-20,B01\n", encoding="utf-8")
    before = _everything(engine)
    code = _cli(monkeypatch, engine, ["--as", "desk_b", *(a.format(out=out, csv=source) for a in argv)])
    captured = capsys.readouterr()
    assert code != 0
    assert f"may not {permission.replace('_', ' ')}" in captured.err
    assert argv[0] == "import" or f"{permission!r} permission" in captured.err
    assert captured.out == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bookings.csv"]
    assert _everything(engine) == before


# The same commands for the other roles: who may run what (written by hand, as in docs/SECURITY.md).
@pytest.mark.parametrize(
    ("username", "argv", "permission"),
    [
        ("mkt_a", ("loyalty", "recalc", "--as-of", "2026-11-30"), "edit_rules"),
        ("mkt_a", ("privacy", "anonymise", "A-1"), "anonymise"),
        ("mkt_a", ("score", "--out", "{out}", "--snapshot"), "import"),
        ("mkt_a", ("campaigns", "run-due"), "campaign_approve"),
        ("mgr_a", ("campaigns", "run-due"), "chain_rules"),
        ("mgr_a", ("warm",), "chain_rules"),
        ("mgr_a", ("users", "set-password", "desk_b", "--password-stdin"), "manage_users"),
        ("mgr_a", ("demo", "--customers", "10"), "chain_rules"),
    ],
)
def test_other_roles_are_refused_what_their_role_lacks(
    engine, monkeypatch, capsys, tmp_path, username, argv, permission
) -> None:
    small_world(engine)
    out = tmp_path / "f.csv"
    before = _everything(engine)
    code = _cli(monkeypatch, engine, ["--as", username, *(a.format(out=out) for a in argv)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"needs the {permission!r} permission" in err
    assert not out.exists()
    assert _everything(engine) == before


def test_store_manager_kpi_for_another_store_reaches_nothing(engine, monkeypatch, capsys) -> None:
    small_world(engine)
    code = _cli(monkeypatch, engine, ["--as", "mgr_a", "kpi", "--as-of", "2026-11-30", "--json", "--store", "B01"])
    captured = capsys.readouterr()
    assert code == 2
    assert "unknown store code(s) for this user: B01" in captured.err
    assert captured.out == ""
    # Not vacuous: the same request for the own store answers, and the admin gets store B.
    assert _cli(monkeypatch, engine, ["--as", "mgr_a", "kpi", "--as-of", "2026-11-30", "--json", "--store", "A01"]) == 0
    assert json.loads(capsys.readouterr().out)["stores"] == ["A01"]
    assert _cli(monkeypatch, engine, ["--as", "admin", "kpi", "--as-of", "2026-11-30", "--json", "--store", "B01"]) == 0
    assert json.loads(capsys.readouterr().out)["stores"] == ["B01"]


def test_marketer_and_system_actor_still_score_kpi_and_list(engine, monkeypatch, capsys, tmp_path) -> None:
    small_world(engine)
    for actor in (["--as", "mkt_a"], []):
        out = tmp_path / f"scores{len(actor)}.csv"
        assert (
            _cli(
                monkeypatch,
                engine,
                [*actor, "score", "--as-of", "2026-11-30", "--model", "rule", "--out", str(out), "--quiet"],
            )
            == 0
        )
        ids = set(pd.read_csv(out, dtype={"customer_id": str})["customer_id"])
        # mkt_a sees store A; the system actor every customer.
        assert ids == ({"A-1", "A-2"} if actor else {"A-1", "A-2", "B-1"})
        assert _cli(monkeypatch, engine, [*actor, "kpi", "--as-of", "2026-11-30", "--json"]) == 0
        assert _cli(monkeypatch, engine, [*actor, "campaigns", "list", "--json"]) == 0
        capsys.readouterr()
    assert _cli(monkeypatch, engine, ["campaigns", "run-due", "--now", "2026-12-01T02:00:00+00:00"]) == 0
    assert _cli(monkeypatch, engine, ["loyalty", "reconcile"]) == 0
    with session_scope(engine) as session:  # each score file is an audited export
        exports = session.scalars(select(AuditLog.actor).where(AuditLog.entity == "score_csv")).all()
    assert sorted(exports) == ["cli", "mkt_a"]


def test_score_csv_neutralises_formulas_and_keeps_phones_as_text(engine, monkeypatch, tmp_path) -> None:
    """RELIABILITY 14 for the CLI: the score file goes through the app's export writer."""
    ids = small_world(engine)
    hostile = {"a1": '=HYPERLINK("http://x","y")', "a2": "@SUM(1+1)*cmd|' /C calc'!A0", "b1": "+886912345678"}
    with session_scope(engine) as session:
        for key, external_id in hostile.items():
            session.get(Customer, ids[key]).external_id = external_id
    out = tmp_path / "scores.csv"
    assert (
        _cli(monkeypatch, engine, ["score", "--as-of", "2026-11-30", "--model", "rule", "--out", str(out), "--quiet"])
        == 0
    )
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as the app's exports (Excel reads CJK)
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "customer_id"
    # Every formula-like id gets a leading apostrophe: text in a spreadsheet, never a formula;
    # the phone-like id keeps its plus sign and every digit.
    assert {row[0] for row in rows[1:]} == {"'" + value for value in hostile.values()}
    assert [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@") and not _number(cell)] == []


# --- the role table in the docs is the one the code enforces --------------------------------------


def _parser_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [c for name, sub in action.choices.items() for c in _parser_commands(sub, (*prefix, name))]
    return [" ".join(prefix)]


def test_every_command_has_a_permission_entry() -> None:
    commands = _parser_commands(cli.build_parser())
    assert len(commands) >= 16
    assert sorted(set(commands) - set(COMMAND_PERMISSIONS)) == []


def test_security_doc_table_matches_the_enforced_permissions() -> None:
    doc = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    header = next(line for line in doc.splitlines() if line.startswith("| command |"))
    roles = [cell.strip() for cell in header.strip("|").split("|")[1:-1]]  # then the "needs" column
    assert roles == [*ROLES, "system"]
    table = {}
    for line in doc.splitlines():
        match = re.match(r"^\| `([^`]+)` \|(.*)\|$", line)
        if match:
            table[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")][: len(roles)]
    assert sorted(table) == sorted(COMMAND_PERMISSIONS)
    for command, cells in table.items():
        needed = COMMAND_PERMISSIONS[command]
        expected = ["yes" if all(p in PERMISSIONS[role] for p in needed) else "—" for role in roles]
        assert cells == expected, command
