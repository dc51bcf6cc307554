"""Work that runs every so often (releasing waits that are over, SLA sweeps, handing out queued tickets),
registered by the apps that own it and run by every ``forewarn dispatch`` process beside the outbox sender.

Each job must be safe to run in several processes at once (they change rows with conditional UPDATEs
that only one process wins), so adding senders never needs a scheduler of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: float  # seconds
    run: Callable[[], object]


JOBS: dict[str, Job] = {}


def every(seconds: float, name: str, run: Callable[[], object]) -> None:
    """Register ``run`` to be called every ``seconds`` (registering a name again replaces it)."""
    JOBS[name] = Job(name, seconds, run)


def run_due(last: dict[str, float], now: float) -> int:
    """Run the jobs whose time has come; ``last`` remembers when each ran. Returns how many ran."""
    ran = 0
    for job in list(JOBS.values()):
        if now - last.get(job.name, float("-inf")) < job.every:
            continue
        last[job.name] = now
        try:
            job.run()
        except Exception:
            logger.exception("periodic job %s failed; it runs again next time", job.name)
        ran += 1
    return ran


def run_periodic(stop: threading.Event, *, tick: float = 1.0) -> None:
    """Run registered jobs on their schedule until ``stop`` is set."""
    last: dict[str, float] = {}
    while not stop.is_set():
        close_old_connections()
        run_due(last, time.monotonic())
        stop.wait(tick)
