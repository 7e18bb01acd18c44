"""The project's own promises: layers, no dependency on ../shared, pinned requirements, docs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "core": {"streamlit", "sqlmodel", "sqlalchemy", "db", "services", "dashboard", "pages"},
    "db": {"streamlit", "services", "dashboard", "pages"},
    "services": {"streamlit", "dashboard", "pages"},
    "pages": {"db", "sqlmodel", "sqlalchemy", "services", "pages"},
}
PROJECT_FOLDERS = ("core", "db", "services", "dashboard", "pages", "demo", "tests", "bench")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py")) if (ROOT / folder).is_dir() else []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_respect_layers(layer: str) -> None:
    crossings = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in _python_files(layer)
        for line, name in _imports(path)
        if name in FORBIDDEN[layer]
    ]
    assert crossings == []


def _module_level_imports(path: Path) -> list[tuple[int, str]]:
    """Imports outside function bodies (a function's own import runs only when it is called)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = {
        id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) for n in ast.walk(f)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in inside:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _is_cli(path: Path) -> bool:
    relative = path.relative_to(ROOT / "dashboard").as_posix()
    return relative.startswith(("cli/", "cli.py", "cli_"))


def test_the_app_never_imports_the_demo() -> None:
    """The demo world is a tool beside the product: core, db, services, pages and the dashboard
    never import ``demo``; only the command line's demo tools do, inside their own functions."""
    crossings = [
        f"{path.relative_to(ROOT)}:{line} imports demo"
        for folder in ("core", "db", "services", "dashboard", "pages")
        for path in _python_files(folder)
        for line, name in (_module_level_imports(path) if folder == "dashboard" and _is_cli(path) else _imports(path))
        if name == "demo"
    ]
    assert crossings == []
    assert any(name == "demo" for path in _python_files("dashboard") if _is_cli(path) for _, name in _imports(path)), (
        "the demo command builds the demo from the demo package"
    )


def _modules_imported(path: Path) -> set[str]:
    """Full dotted names a file imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_settings_are_read_only_by_the_application_shell() -> None:
    # core/, db/ and services/ get what they need (a database URL, a folder, a size limit) as
    # parameters; only dashboard/ (CLI, app, worker) reads the settings module.
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("core", "db", "services")
        for path in _python_files(folder)
        if {"dashboard.settings", "core.config"} & _modules_imported(path)
        or "load_settings" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
    assert (ROOT / "dashboard" / "settings.py").is_file() and not (ROOT / "core" / "config.py").exists()


def test_nothing_depends_on_the_shared_folder() -> None:
    offenders = []
    candidates = [p for folder in PROJECT_FOLDERS for p in _python_files(folder)]
    candidates += [ROOT / name for name in ("Makefile", ".ci/run", "requirements.txt", "requirements-dev.txt")]
    for path in candidates:
        if path.exists() and path != Path(__file__) and "../shared" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_requirements_are_pinned() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            spec = line.split("#", 1)[0].strip()
            if spec:
                assert re.match(r"^[A-Za-z0-9_.\-\[\]]+==[0-9][^\s]*$", spec), f"{name}: unpinned {spec!r}"


def test_no_sql_built_with_fstrings_in_text_calls() -> None:
    pattern = re.compile(r"(?<![\w.])text\(\s*f[\"']")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("core", "db", "dashboard", "pages")
        for path in _python_files(folder)
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_only_the_settings_module_reads_the_environment() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("core", "db", "dashboard", "pages")
        for path in _python_files(folder)
        if "os.environ" in path.read_text(encoding="utf-8") and path != ROOT / "dashboard" / "settings.py"
    ]
    assert offenders == []


def test_create_engine_called_in_one_place() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("core", "db", "dashboard", "pages")
        for path in _python_files(folder)
        if "create_engine(" in path.read_text(encoding="utf-8") and path != ROOT / "db" / "engine.py"
    ]
    assert offenders == []


def test_no_streamlit_cache_outside_dashboard() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("core", "db", "pages")
        for path in _python_files(folder)
        if re.search(r"st\.cache_(data|resource)", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_setting_is_documented() -> None:
    import importlib.util

    from core.params import describe_params
    from dashboard.settings import describe_settings

    spec = importlib.util.spec_from_file_location("settings_doc", ROOT / "scripts" / "settings_doc.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    docs = (ROOT / "docs" / "SETTINGS.md").read_text(encoding="utf-8")
    assert all(row["help"] for row in describe_settings() + describe_params())
    assert docs == module.render(), "docs/SETTINGS.md is stale: run scripts/settings_doc.py"
