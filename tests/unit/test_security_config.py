"""Static security promises: Streamlit config (RELIABILITY 8), no HTML from data (RELIABILITY 6),
no credentials in the repository."""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from pathlib import Path

from dashboard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "revisit-demo"  # the demo logins' password, shown on the login page in demo mode only


def _config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_streamlit_config_keeps_xsrf_cors_upload_limit_and_hides_errors() -> None:
    config = _config()
    server, client = config["server"], config["client"]
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True
    assert 0 < server["maxUploadSize"] <= Settings().max_upload_mb
    assert client["showErrorDetails"] in ("none", False)
    assert client.get("toolbarMode") == "viewer"


# --- user text is never rendered as HTML ------------------------------------------------------------

HTML_SINKS = {"html"}  # st.html(...) / components.html(...) render their argument as HTML


def _is_constant_text(node: ast.expr) -> bool:
    """A literal string (or a concatenation of literals): a fixed CSS/HTML snippet, no data."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_constant_text(node.left) and _is_constant_text(node.right)
    return False


def _unsafe_html_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{node.lineno}"
        unsafe = [k for k in node.keywords if k.arg == "unsafe_allow_html"]
        if unsafe and not (isinstance(unsafe[0].value, ast.Constant) and unsafe[0].value.value is False):
            if not (isinstance(unsafe[0].value, ast.Constant) and unsafe[0].value.value is True):
                found.append(f"{where}: unsafe_allow_html is not a literal")
            elif not node.args or not all(_is_constant_text(a) for a in node.args):
                found.append(f"{where}: unsafe_allow_html=True with interpolated content")
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in HTML_SINKS and (not node.args or not all(_is_constant_text(a) for a in node.args)):
            found.append(f"{where}: {name}(...) with interpolated content")
    return found


def test_no_page_renders_data_as_html() -> None:
    files = sorted((ROOT / "pages").rglob("*.py")) + sorted((ROOT / "dashboard").rglob("*.py"))
    offenders = [problem for path in files for problem in _unsafe_html_calls(path)]
    assert offenders == []


def test_the_html_check_catches_interpolation(tmp_path: Path) -> None:
    sample = tmp_path / "sample_page.py"
    sample.write_text(
        "import streamlit as st\n"
        "name = 'x'\n"
        "st.markdown('<style>.a{color:red}</style>', unsafe_allow_html=True)\n"
        "st.markdown(f'<b>{name}</b>', unsafe_allow_html=True)\n"
        "st.markdown('<b>' + name + '</b>', unsafe_allow_html=True)\n"
        "st.html(name)\n"
        "st.markdown(name, unsafe_allow_html=False)\n",
        encoding="utf-8",
    )
    problems = _unsafe_html_calls(sample)
    assert [p.split(":")[1] for p in problems] == ["4", "5", "6"]


# --- no credentials in the repository ---------------------------------------------------------------

BCRYPT_HASH = re.compile(r"\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}")
CREDENTIAL_LITERAL = re.compile(
    r"""(?i)\b[\w-]*(password|passwd|secret|cookie_key|api_key|apikey|access_token|token)[\w-]*["']?\s*[:=]\s*["']([^"'\s][^"']{5,})["']"""
)
ALLOWED_FILES = {"demo/accounts.py"}


def _repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    skip = (".venv", "data/", "bench/out/")
    return [ROOT / p for p in listed if not p.startswith(skip) and (ROOT / p).is_file()]


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def test_no_bcrypt_hashes_anywhere_in_the_repository() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in _repository_files()
        if (text := _text(p)) is not None and BCRYPT_HASH.search(text)
    ]
    assert offenders == []


def test_no_passwords_or_keys_outside_tests_and_the_demo_seed() -> None:
    offenders = []
    for path in _repository_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("tests/") or relative in ALLOWED_FILES:
            continue
        text = _text(path)
        if text is None:
            continue
        for match in CREDENTIAL_LITERAL.finditer(text):
            value = match.group(2)
            if value == DEMO_PASSWORD or value.startswith(("<", "/", "$", "{")) or "{" in value:
                continue  # the demo password, placeholders, URL paths, templates
            offenders.append(f"{relative}: {match.group(0)[:60]}")
    assert offenders == []


def test_real_secrets_files_are_ignored_by_git() -> None:
    for name in (".streamlit/secrets.toml",):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT).returncode == 0
        assert ignored, f"{name} must be in .gitignore"
    tracked = subprocess.run(
        ["git", "ls-files", ".streamlit", ".env", "*.pem", "*.key"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [t for t in tracked if not t.startswith(".venv/") and not t.endswith((".example", "config.toml"))] == []
