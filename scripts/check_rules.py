"""The project's own rules that ruff and import-linter cannot say, checked by `make lint`.

- faces-query: an API handler or a page (``api.py``, ``*_api.py``, ``views.py``, ``*_views.py``) makes no
  model query (``Model.objects``); it calls the owning app's service (``list_…_for``, ``get_…_for``).
- system-actor: ``Actor.system`` (every permission) acts only in jobs, the CLI, the demo and tests;
  everything else that acts on its own is an ``Actor.machine`` with exactly the permissions it needs.
- noqa-reason: every ``# noqa: CODE`` says why after it (``# noqa: S608 - values are parameters``).

Run: ``python scripts/check_rules.py [PATH ...]`` (default: src, tests, bench, scripts). Exit 1 on any
finding, each printed as ``path:line: rule: what``.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("src", "tests", "bench", "scripts")
FACE = re.compile(r"(^|_)(api|views)\.py$")
# Where Forewarn may act as itself, with every permission.
SYSTEM_ALLOWED = re.compile(
    r"(/tests/|^tests/|^bench/|/tasks\.py$|/cli\.py$|/demo\.py$|/shell/|/management/)"
)
NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?(?P<rest>.*)$")
REASON = re.compile(r"^\s*[-—:(]\s*\S")


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _noqa_findings(name: str, source: str) -> Iterator[str]:
    comments = (
        t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT
    )
    for token in comments:
        number, match = token.start[0], NOQA.search(token.string)
        if match is None:
            continue
        if not match.group("codes"):
            yield f"{name}:{number}: noqa-reason: a bare noqa silences every rule; name the code and why"
        elif not REASON.match(match.group("rest")):
            codes = match.group("codes")
            yield f"{name}:{number}: noqa-reason: say why after the code (# noqa: {codes} - why)"


def _ast_findings(name: str, tree: ast.AST) -> Iterator[str]:
    face = FACE.search(name.rsplit("/", 1)[-1]) is not None and "/tests/" not in name
    system_allowed = SYSTEM_ALLOWED.search(name) is not None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if face and node.attr == "objects":
            yield f"{name}:{node.lineno}: faces-query: a model query in a handler or page; call a service"
        if (
            not system_allowed
            and node.attr == "system"
            and isinstance(node.value, ast.Name)
            and node.value.id == "Actor"
        ):
            yield (
                f"{name}:{node.lineno}: system-actor: Actor.system outside jobs and the CLI; "
                "use Actor.machine with the permissions this needs"
            )


def findings(path: Path) -> list[str]:
    """What one file breaks, in order."""
    return findings_in(_relative(path), path.read_text(encoding="utf-8"))


def findings_in(name: str, source: str) -> list[str]:
    """What ``source``, the file at ``name`` (relative to the project), breaks, in order."""
    found = list(_noqa_findings(name, source))
    if name.startswith("src/") and "/migrations/" not in name:
        found += _ast_findings(name, ast.parse(source, filename=name))
    return sorted(found, key=lambda f: int(f.split(":")[1]))


def _files(paths: list[str]) -> Iterator[Path]:
    for given in paths:
        path = Path(given)
        if not path.is_absolute():
            path = ROOT / path
        if path.is_file():
            yield path
        else:
            yield from sorted(p for p in path.rglob("*.py") if ".venv" not in p.parts)


def main(argv: list[str]) -> int:
    found = [line for path in _files(argv or list(DEFAULT_PATHS)) for line in findings(path)]
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} finding(s): see scripts/check_rules.py for each rule and its reason")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
