"""The shape of the house: no circle of imports in app/core, the agent library imports nothing
from app, and nothing configures itself when it is imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import BACKEND_DIR

CORE = BACKEND_DIR / "app" / "core"


def _imports(path: Path, package: str) -> set[str]:
    """Modules of `package` that `path` imports, at any depth (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == package:
                found.update(f"{package}.{alias.name}" for alias in node.names)
            elif node.module.startswith(package + "."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(package + "."))
    return found


def test_app_core_imports_form_no_cycle():
    graph = {
        f"app.core.{p.stem}": {m for m in _imports(p, "app.core") if m != f"app.core.{p.stem}"}
        for p in CORE.glob("*.py")
        if p.stem != "__init__"
    }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, " -> ".join([*visiting, module])
        if module in done or module not in graph:
            return
        visiting.append(module)
        for target in sorted(graph[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_app_core_uses_no_domain():
    for path in CORE.glob("*.py"):
        domains = {m for m in _imports(path, "app") if not m.startswith("app.core")}
        assert domains <= {"app.models"}, (path.name, domains)


def test_the_agent_library_imports_nothing_from_app():
    for path in (BACKEND_DIR / "agent").rglob("*.py"):
        assert not _imports(path, "app"), path


def test_importing_the_app_configures_no_celery_app():
    code = (
        "import celery, app.main, app.documents.tasks, app.core.celery_app as c\n"
        "assert not hasattr(c, 'celery_app'), 'a module-level Celery app'\n"
        "assert celery.current_app.main != 'chatsphere', 'a Celery app was made current'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BACKEND_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_a_missing_data_dir_is_created(tmp_path):
    data_dir = tmp_path / "not" / "there" / "yet"
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=BACKEND_DIR,
        env={"DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (data_dir / "chatsphere.db").is_file()
