"""The crash tests: real processes, killed at random, against a database of their own."""

from __future__ import annotations

from typing import Any


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "crash: kills real worker processes at random; takes minutes (deselect: -m 'not crash')"
    )
