"""The first chain admin of a new installation comes from the CLI; passwords only via stdin."""

from __future__ import annotations

import io
import json

import pytest

from dashboard import cli
from db.engine import session_scope
from db.users import attempt_login, get_user
from tests.support.apptest_helpers import use_database
from tests.support.factories import small_world


def run(monkeypatch, capsys, argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_add_first_admin_on_an_empty_database(sqlite_engine, monkeypatch, capsys) -> None:
    use_database(monkeypatch, str(sqlite_engine.url))
    code, out, _ = run(
        monkeypatch, capsys, ["users", "add", "boss", "--role", "chain_admin", "--password-stdin"], "a-long-password\n"
    )
    assert code == 0 and json.loads(out)["role"] == "chain_admin"
    with session_scope(sqlite_engine) as session:
        user = get_user(session, username="boss")
        assert user is not None and "a-long-password" not in user.password_hash
        assert attempt_login(
            session, username="boss", password="a-long-password", max_attempts=5, lockout_minutes=15
        ).ok


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (
            ["users", "add", "x1", "--role", "store_manager", "--store", "NOPE", "--password-stdin"],
            "pw-123456\n",
            "unknown store code(s): NOPE",
        ),
        (["users", "add", "x2", "--role", "marketer"], "", "--password-stdin"),
        (
            ["--as", "mkt_a", "users", "add", "x3", "--role", "chain_admin", "--password-stdin"],
            "pw-123456\n",
            "may not manage users",
        ),
    ],
)
def test_bad_requests_exit_2_with_a_message(sqlite_engine, monkeypatch, capsys, argv, stdin, message) -> None:
    small_world(sqlite_engine)
    use_database(monkeypatch, str(sqlite_engine.url))
    code, _, err = run(monkeypatch, capsys, argv, stdin)
    assert code == 2
    assert message in err
    with session_scope(sqlite_engine) as session:
        assert get_user(session, username=argv[3] if argv[0] == "users" else argv[5]) is None
