"""Make sure the PostgreSQL server for the test pass answers; start a local cluster if it is down.

Never hangs: every attempt has a short time-out, and the message says what is needed when it fails.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
import time

import psycopg


def reachable(url: str) -> str | None:
    """None when a connection works, else the reason."""
    try:
        with psycopg.connect(url, connect_timeout=3, dbname="postgres") as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return None


def try_start_local_cluster() -> None:
    if not shutil.which("pg_ctlcluster"):
        return
    for version_dir in sorted(glob.glob("/etc/postgresql/*")):
        version = version_dir.rsplit("/", 1)[-1]
        print(f"PostgreSQL is not answering; starting local cluster {version}/main…", flush=True)
        subprocess.run(  # noqa: S603 - fixed command, version read from the local filesystem
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],  # noqa: S607 - Debian's cluster tool, found on the PATH as root would
            timeout=60,
            check=False,
        )


def main() -> int:
    url = sys.argv[1]
    reason = reachable(url)
    if reason is None:
        return 0
    try_start_local_cluster()
    for _attempt in range(10):
        reason = reachable(url)
        if reason is None:
            return 0
        time.sleep(1)
    print(
        f"PostgreSQL is required for the second test pass and is not reachable at {url}: {reason}\n"
        "Start it (for example 'pg_ctlcluster 15 main start') or point TEST_POSTGRES_URL at a server "
        "where the user may create databases: make test TEST_POSTGRES_URL=postgres://user:pw@host:5432/db",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
