"""The ``forewarn`` command: one entry point for operators.

``forewarn serve`` runs the web server and, for the embedded default, one task worker beside it;
``forewarn worker`` runs task workers only, for scale-out on more machines. Everything else calls the
same services the API and the UI call.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Forewarn: proactive customer care.", no_args_is_help=True, add_completion=False)
import_app = typer.Typer(help="Import data from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
privacy_app = typer.Typer(
    help="Personal data: keys, the audit log, a person's export and erasure.", no_args_is_help=True
)
app.add_typer(privacy_app, name="privacy")


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forewarn.settings")
    import django

    django.setup()


def _call(*args: str) -> None:
    from django.core.management import call_command

    call_command(*args)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    _setup()
    _call("migrate", "--no-input")


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues to work on; '*' for every queue.")
    ] = "*",
    interval: Annotated[float, typer.Option(help="Seconds between polls when idle.")] = 0.5,
) -> None:
    """Run one task worker (run several, on several machines, to scale out)."""
    _setup()
    from django.core.management import call_command

    call_command("db_worker", queue_name=queues, interval=interval, reload=False)


def _supervise(command: str, stop: threading.Event) -> None:
    """Keep one ``forewarn <command>`` process alive beside the web server until ``stop`` is set."""
    process: subprocess.Popen[bytes] | None = None
    while not stop.is_set():
        if process is None or process.poll() is not None:
            if process is not None:
                typer.echo(f"{command} exited with {process.returncode}; restarting", err=True)
            # The command is one of Forewarn's own, named in this module, never user input.
            process = subprocess.Popen([sys.executable, "-m", "forewarn.cli", command])  # noqa: S603 - our own interpreter and module, with a fixed command
        stop.wait(1.0)
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@app.command()
def dispatch(
    batch: Annotated[int, typer.Option(help="Messages claimed per round.")] = 100,
    interval: Annotated[float, typer.Option(help="Seconds between polls when nothing is due.")] = 0.5,
) -> None:
    """Send due messages from the outbox, and run the periodic work (releasing waits that are over, SLA
    sweeps, handing out queued tickets); run several, on several machines, to send faster."""
    _setup()
    from forewarn.core.periodic import run_periodic
    from forewarn.engage.services.outbox import run_dispatcher

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_args: stop.set())
    timers = threading.Thread(target=run_periodic, args=(stop,), name="periodic", daemon=True)
    timers.start()
    run_dispatcher(stop, batch=batch, idle=interval)
    timers.join(timeout=10)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Web worker processes.")] = 1,
    with_worker: Annotated[
        bool, typer.Option("--with-worker/--no-worker", help="Run a task worker and an outbox sender too.")
    ] = True,
) -> None:
    """Serve the UI and API (and, unless told not to, one background task worker)."""
    # Links in messages point where this server listens unless FOREWARN_PUBLIC_URL says otherwise
    # (settings.public_url); the worker and the sender started below inherit the same address.
    os.environ.update(FOREWARN_HOST=host, FOREWARN_PORT=str(port))
    _setup()
    import uvicorn

    _call("collectstatic", "--no-input", "--verbosity", "0")
    stop = threading.Event()
    supervisors = [
        threading.Thread(target=_supervise, args=(command, stop), daemon=True)
        for command in ("worker", "dispatch")
    ]
    if with_worker:
        for supervisor in supervisors:
            supervisor.start()
    typer.echo(f"Forewarn is serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/v1/docs)")
    try:
        uvicorn.run("forewarn.asgi:application", host=host, port=port, workers=workers, log_level="info")
    finally:
        stop.set()
        if with_worker:
            for supervisor in supervisors:
                supervisor.join(timeout=15)


@app.command("demo-data")
def demo_data(
    customers: Annotated[int, typer.Option(help="How many customers to create.")] = 3000,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if customers exist.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed, for a repeatable world.")] = 7,
) -> None:
    """Create a demo world: staff, customers in uk/ru/en with duplicates, consents and time zones."""
    _setup()
    from rich.progress import Progress

    from forewarn.shell import demo

    if if_empty and demo.world_exists():
        typer.echo("Demo data already loaded.")
    else:
        with Progress() as progress:
            bar = progress.add_task("Creating customers", total=customers)
            demo.build_world(
                customers=customers,
                seed=seed,
                progress=lambda done, _t: progress.update(bar, completed=done),
            )
    for line in demo.credentials_text().splitlines():
        typer.echo(line)


@import_app.command("customers")
def import_customers(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV file (UTF-8).")
    ],
    source: Annotated[str, typer.Option(help="Where the data comes from (kept with consents).")] = "import",
    show: Annotated[int, typer.Option(help="How many rejected rows to print.")] = 50,
    report: Annotated[
        Path | None,
        typer.Option(help="Where to write every rejected row (CSV); default: FILE.rejections.csv beside it."),
    ] = None,
) -> None:
    """Import customers from CSV: normalise, report bad rows, fold and flag duplicates."""
    _setup()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from forewarn.accounts.actors import Actor
    from forewarn.core.errors import ServiceError
    from forewarn.customers.services.importing import import_customers as run

    started = time.perf_counter()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    ) as progress:
        bar = progress.add_task(f"Importing {file.name}", total=None)
        try:
            result = run(
                actor=Actor.system("cli"),
                path=file,
                source=source,
                progress=lambda done, total: progress.update(bar, completed=done, total=total),
            )
        except ServiceError as exc:
            typer.echo(f"Import refused: {exc.message}", err=True)
            for f in exc.fields:
                typer.echo(f"  {f.path}: {f.message}", err=True)
            raise typer.Exit(2) from exc
    elapsed = time.perf_counter() - started
    for line, path, _code, message in result.rejections[:show]:
        typer.echo(f"line {line}: {path or 'row'}: {message}", err=True)
    if len(result.rejections) > show:
        typer.echo(f"… and {len(result.rejections) - show} more rejected fields", err=True)
    if result.rejections:
        target = report or file.with_name(f"{file.stem}.rejections.csv")
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "field", "code", "reason"])
            writer.writerows(result.rejections)
        typer.echo(f"Every rejected field ({len(result.rejections)}) is listed in {target}", err=True)
    typer.echo(
        f"rows={result.processed_rows} created={result.created} matched={result.matched} "
        f"rejected={result.rejected} flagged={result.flagged} seconds={elapsed:.1f}"
    )


@import_app.command("events")
def import_events(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="JSON lines (.jsonl) or CSV (UTF-8)."
        ),
    ],
    show: Annotated[int, typer.Option(help="How many rejected events to print.")] = 50,
) -> None:
    """Send journey events from a file through the triggers and the contact policy, as the API does."""
    _setup()
    from rich.progress import Progress

    from forewarn.accounts.actors import Actor
    from forewarn.engage.services.ingest import import_event_file

    started = time.perf_counter()
    with Progress() as progress:
        bar = progress.add_task(f"Events from {file.name}", total=None)
        result = import_event_file(
            actor=Actor.system("cli"), path=file, progress=lambda done: progress.update(bar, completed=done)
        )
    for line, code, message in result.rejected[:show]:
        typer.echo(f"line {line}: {code}: {message}", err=True)
    if len(result.rejected) > show:
        typer.echo(f"… and {len(result.rejected) - show} more rejected events", err=True)
    typer.echo(
        f"accepted={result.accepted} duplicates={result.duplicates} rejected={len(result.rejected)} "
        f"seconds={time.perf_counter() - started:.1f}"
    )


@app.command()
def dedupe() -> None:
    """Look for fuzzy duplicates among all customers and list them for review."""
    _setup()
    from forewarn.accounts.actors import Actor
    from forewarn.customers.services.dedup import find_duplicates

    found = find_duplicates(actor=Actor.system("cli"))
    typer.echo(f"{found} new duplicate candidates recorded.")


@app.command("create-user")
def create_user(
    username: str,
    role: Annotated[str, typer.Option(help="admin, supervisor, agent, analyst or marketer.")] = "agent",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a member of staff."""
    _setup()
    from forewarn.accounts.actors import Actor
    from forewarn.accounts.services import create_staff_user
    from forewarn.core.errors import ServiceError

    try:
        create_staff_user(actor=Actor.system("cli"), username=username, password=password, role=role)
    except ServiceError as exc:
        typer.echo(f"{exc.message} " + "; ".join(f.message for f in exc.fields), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Created {username} ({role}).")


@app.command("issue-token")
def issue_token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    scope: Annotated[list[str] | None, typer.Option(help="A permission; repeat for more.")] = None,
) -> None:
    """Issue an API token for a member of staff and print its secret (shown only once)."""
    _setup()
    from forewarn.accounts.actors import Actor
    from forewarn.accounts.models import User
    from forewarn.accounts.services import issue_token as issue

    user = User.objects.filter(username=username).first()
    if user is None:
        typer.echo(f"No user {username}.", err=True)
        raise typer.Exit(2)
    _token, secret = issue(actor=Actor.system("cli"), user=user, name=name, scopes=scope)
    typer.echo(secret)


@app.command("imap-poll")
def imap_poll(
    keep: Annotated[bool, typer.Option("--keep/--once", help="Keep polling, or poll once.")] = False,
) -> None:
    """Fetch unread mail from the support mailbox (FOREWARN_IMAP_URL) into tickets."""
    _setup()
    from forewarn.channels import imap
    from forewarn.inbox.services.intake.email import take_raw_email

    config = imap.configured()
    if config is None:
        typer.echo("Set FOREWARN_IMAP_URL (imaps://user:password@host/INBOX) first.", err=True)
        raise typer.Exit(2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        result = imap.poll_once(config, receive=take_raw_email)
        counts = vars(result)
        typer.echo("imap: " + " ".join(f"{name}={n}" for name, n in counts.items()))
        if not keep or stop.wait(config.interval):
            return


@app.command()
def smtp(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (25 needs root; a relay can forward).")] = 2525,
) -> None:
    """Receive email for the support address: each message becomes a ticket or joins its thread."""
    _setup()
    from forewarn.channels.smtp import start_receiver
    from forewarn.inbox.services.intake.email import take_raw_email

    receiver = start_receiver(host, port, receive=take_raw_email)
    typer.echo(f"Receiving email on {host}:{port} (Ctrl+C to stop).")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()


@privacy_app.command("keys")
def privacy_keys() -> None:
    """List the keys that seal personal values, and how many values each one seals."""
    _setup()
    from forewarn.privacy.crypto import keyring
    from forewarn.privacy.services.keys import keys_in_use

    ring, used = keyring(), keys_in_use()
    for kid, _key in ring.keys:
        current = " (seals new values)" if kid == ring.current else ""
        typer.echo(f"{kid}{current}: {used.get(kid, 0)} values")
    for kid in sorted(set(used) - {k for k, _ in ring.keys}):
        typer.echo(f"{kid}: {used[kid]} values, and this keyring does not hold the key", err=True)


@privacy_app.command("new-key")
def privacy_new_key() -> None:
    """Make a new key the one that seals (key file only); then run `forewarn privacy reencrypt`."""
    _setup()
    from django.core.exceptions import ImproperlyConfigured

    from forewarn.privacy.crypto import new_key

    try:
        typer.echo(f"New key {new_key()} seals from now on. Restart running processes, then re-encrypt.")
    except ImproperlyConfigured as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@privacy_app.command("reencrypt")
def privacy_reencrypt(
    drop_old_keys: Annotated[
        bool, typer.Option(help="Remove the older keys from the key file after.")
    ] = False,
) -> None:
    """Seal every value under the current key (after a new key, before dropping old ones)."""
    _setup()
    from forewarn.accounts.actors import Actor
    from forewarn.privacy.crypto import drop_keys_except, keyring
    from forewarn.privacy.services.keys import reencrypt_values

    moved = reencrypt_values(actor=Actor.system("cli"))
    typer.echo(f"{moved} values re-encrypted under {keyring().current}.")
    if drop_old_keys:
        dropped = drop_keys_except({keyring().current})
        typer.echo(f"Dropped keys: {', '.join(dropped) or 'none'}.")


@privacy_app.command("verify-audit")
def privacy_verify_audit() -> None:
    """Check that no audit entry was changed or removed (each carries the hash of the one before)."""
    _setup()
    from forewarn.accounts.actors import Actor
    from forewarn.privacy.services.audit import verify_audit_chain

    report = verify_audit_chain(actor=Actor.system("cli"))
    if report.intact:
        typer.echo(f"The audit log's {report.entries} entries are intact.")
        return
    typer.echo(f"The audit log is broken at entry #{report.first_broken}.", err=True)
    raise typer.Exit(1)


@privacy_app.command("export")
def privacy_export(
    customer_id: int,
    out: Annotated[Path, typer.Option(help="Where to write the JSON file.")] = Path("-"),
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
) -> None:
    """Write everything held about a person as JSON (to standard output by default)."""
    _setup()
    import json

    from forewarn.accounts.actors import Actor
    from forewarn.privacy.services.subjects import export_person

    text = json.dumps(
        export_person(actor=Actor.system("cli"), customer_id=customer_id, reason=reason),
        ensure_ascii=False,
        indent=2,
    )
    if str(out) == "-":
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"Wrote {out}.")


@privacy_app.command("erase")
def privacy_erase(
    customer_id: int,
    reason: Annotated[str, typer.Option(help="Why, for the audit log.", prompt=True)],
    verify: Annotated[bool, typer.Option(help="Then read every text column for what was erased.")] = True,
) -> None:
    """Erase a person: every personal value goes, the anonymous rows stay; the erasure is audited."""
    _setup()
    from forewarn.accounts.actors import Actor
    from forewarn.core.errors import ServiceError
    from forewarn.privacy.services.subjects import erase_person

    try:
        result = erase_person(
            actor=Actor.system("cli"), customer_id=customer_id, reason=reason, verify=verify
        )
    except ServiceError as exc:
        typer.echo(f"{exc.message} " + "; ".join(f.message for f in exc.fields), err=True)
        raise typer.Exit(2) from exc
    for what, count in sorted(result.erased.items()):
        typer.echo(f"{what}: {count}")
    if result.residue:
        for table, column in result.residue:
            typer.echo(f"still found in {table}.{column}", err=True)
        raise typer.Exit(1)
    if verify:
        typer.echo("Verified: no text column holds any of the erased values.")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def manage(ctx: typer.Context) -> None:
    """Run a Django management command (forewarn manage showmigrations …)."""
    _setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["forewarn manage", *ctx.args])


def main() -> None:
    app()


if __name__ == "__main__":
    main()
