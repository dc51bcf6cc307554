"""The rules `make lint` keeps, shown to fail when broken: an app importing an app above it, the core
kernel importing an app, a model query in a page, ``Actor.system`` in a service, a ``noqa`` without its
reason. Each check runs on a copy of the code with one rule broken, and on the copy as it is, which passes."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _check_rules() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_rules", ROOT / "scripts" / "check_rules.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RULES = _check_rules()


def test_a_model_query_in_a_page_is_refused_but_a_service_call_is_not() -> None:
    page = "def inbox(request):\n    return Ticket.objects.filter(status='new')\n"
    [finding] = RULES.findings_in("src/forewarn/inbox/views.py", page)
    assert "faces-query" in finding
    assert finding.startswith("src/forewarn/inbox/views.py:2:")
    assert RULES.findings_in("src/forewarn/inbox/services/tickets.py", page) == []
    calling = "def inbox(request):\n    return tickets.list_tickets(actor_for(request))\n"
    assert RULES.findings_in("src/forewarn/inbox/views.py", calling) == []


def test_the_system_actor_acts_only_in_jobs_and_the_cli() -> None:
    code = "actor = Actor.system('intake')\n"
    [finding] = RULES.findings_in("src/forewarn/inbox/services/chat.py", code)
    assert "system-actor" in finding
    for allowed in ("src/forewarn/inbox/tasks.py", "src/forewarn/cli.py", "src/forewarn/shell/demo.py"):
        assert RULES.findings_in(allowed, code) == []
    assert (
        RULES.findings_in("src/forewarn/inbox/services/chat.py", "Actor.machine('x', 'tickets.view')\n") == []
    )


@pytest.mark.parametrize(
    ("comment", "refused"),
    [
        ("# noqa: S608", True),
        ("# noqa", True),
        ("# noqa: S608 - values are parameters", False),
        ("# noqa: PLR0911, PLR0912 - the policy's steps in order", False),
    ],
)
def test_every_noqa_says_why(comment: str, refused: bool) -> None:
    found = RULES.findings_in("src/forewarn/core/bulk.py", f"query = 'SELECT 1'  {comment}\n")
    assert bool(found) is refused
    assert all("noqa-reason" in f for f in found)


def test_the_words_noqa_in_a_string_are_not_a_directive() -> None:
    assert RULES.findings_in("scripts/x.py", 'HELP = "write # noqa: CODE - why"\n') == []


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(  # noqa: S603 - the project's own lint tool on a copy of its own code
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("src")
    shutil.copytree(
        ROOT / "src" / "forewarn",
        tree / "forewarn",
        ignore=shutil.ignore_patterns("*.mo", "*.po", "static", "templates", "__pycache__"),
    )
    return tree


def _broken(source_copy: Path, module: str, line: str) -> Path:
    tree = source_copy.parent / f"broken-{module.replace('/', '-')}"
    shutil.copytree(source_copy, tree, dirs_exist_ok=True)
    target = tree / "forewarn" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    return tree


def test_the_layers_hold_on_the_code_as_it_is(source_copy: Path) -> None:
    result = _lint_imports(source_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_app_importing_an_app_above_it_breaks_the_layers(source_copy: Path) -> None:
    tree = _broken(source_copy, "customers/services/profiles.py", "from forewarn.engage import policy")
    result = _lint_imports(tree)
    assert result.returncode == 1
    assert "forewarn.customers is not allowed to import forewarn.engage" in result.stdout


def test_the_core_kernel_importing_an_app_breaks_the_rules(source_copy: Path) -> None:
    tree = _broken(source_copy, "core/clock.py", "from forewarn.accounts import roles")
    result = _lint_imports(tree)
    assert result.returncode == 1
    assert "forewarn.core is not allowed to import forewarn.accounts" in result.stdout


def test_a_page_importing_another_apps_models_breaks_the_rules(source_copy: Path) -> None:
    tree = _broken(source_copy, "inbox/views.py", "from forewarn.customers.models import Segment")
    result = _lint_imports(tree)
    assert result.returncode == 1
    assert "forewarn.inbox.views is not allowed to import forewarn.customers.models" in result.stdout
