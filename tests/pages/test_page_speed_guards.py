"""Settings and habits that the measured page speed depends on (bench/README.md, "Page speed").

Opening a page must not import the heavy modelling libraries: scipy.stats, scikit-learn and
Prophet each take half a second or more to import, which a cold server would add to the first
view of the page. They load only when something is fitted or tested. And Streamlit must not run
a full garbage collection after every script run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "pages").glob("*.py")) + [ROOT / "dashboard" / "app.py"]
HEAVY = ("scipy.stats", "sklearn", "prophet")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
            modules.add(node.module)
            # `from dashboard import campaign_data` imports a submodule, not a name.
            modules.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").exists()
            )
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return sorted(modules)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_a_page_imports_no_modelling_library(page: Path) -> None:
    modules = _imported_modules(page)
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{page.name} imports {result.stdout.strip()} when opened"


def test_streamlit_does_not_collect_garbage_after_every_run() -> None:
    """Read the way `streamlit run` reads it from the project root, so a misspelt key fails too."""
    code = (
        "from streamlit import config\n"
        "config.get_config_options(force_reparse=True)\n"
        "print(config.get_option('runner.postScriptGC'))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
