"""Commands that work on the app (`hotline tickets …`, `hotline worker`, …).

Listed in hotline/cli.py, which imports this module only to run one of them.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .ticket_rows import STATUS_FILTERS

#: Runs in an app with the database only (hotline/cli.py): its commands read rows, nothing more.
tickets = AppGroup("tickets", help="Requests in the queue.")


@tickets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--status", type=click.Choice([s for s in STATUS_FILTERS if s != "mine"]),
              help="Only requests with this status, as in the API and the dashboard's queue.")
@click.option("--channel", type=click.Choice(["voice", "sms"]))
def tickets_list(as_json: bool, status: str | None, channel: str | None) -> None:
    """List requests, oldest first."""
    from zoneinfo import ZoneInfo

    from .ticket_rows import local_time, read_tickets, ticket_as_dict

    config = current_app.config
    rows = read_tickets(config["SQLALCHEMY_DATABASE_URI"], config["SQLALCHEMY_ENGINE_OPTIONS"],
                        status=status, channel=channel)
    if as_json:
        click.echo(json.dumps([ticket_as_dict(row) for row in rows], ensure_ascii=False, indent=2))
        return
    zone = ZoneInfo(config["TIMEZONE"])
    click.echo(f"{'code':>8}  {'status':<11} {'chan.':<5} {'reason':<18} {'phone':<14} "
               f"created ({config['TIMEZONE']})")
    for row in rows:
        click.echo(f"{row.code:>8}  {row.status:<11} {row.channel:<5} {row.reason:<18} "
                   f"{row.phone or '(no number)':<14} {local_time(row.created_at, zone)}")


# --- background processes ------------------------------------------------------------


@click.command()
@with_appcontext
@click.option("-q", "--queue", "queues", multiple=True, default=["default"], show_default=True)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True)
def worker(queues: tuple[str, ...], burst: bool, with_scheduler: bool) -> None:
    """Run an RQ worker inside the app (the app is built once, before RQ forks)."""
    from workers.main import run_worker

    # Flask types the proxy as the app itself; the real app object is what RQ's fork must keep.
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run_worker(app, queues, burst=burst, with_scheduler=with_scheduler)


@click.command()
@with_appcontext
@click.option("--once", is_flag=True, help="Relay what is pending, then stop.")
@click.option("--interval", default=0.5, show_default=True, help="Seconds between polls.")
def relay(once: bool, interval: float) -> None:
    """Move jobs from the database outbox into RQ (catches up after Redis outages)."""
    from .outbox import relay_forever, relay_pending
    from .queueing import get_redis

    if once:
        click.echo(f"relayed {relay_pending(get_redis())}")
        return
    from .nightly import schedule_at_start

    schedule_at_start()  # tonight's retention pass and backup (hotline/nightly.py)
    try:
        relay_forever(interval)
    except KeyboardInterrupt:  # Ctrl-C from `hotline up` or a terminal: a clean stop
        pass



# --- the demo ------------------------------------------------------------------------

@click.command()
@with_appcontext
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 60),
              help="Days of requests, up to now.")
@click.option("--seed", default=13, show_default=True, help="The same seed gives the same requests.")
def demo(days: int, seed: int) -> None:
    """Fill an empty data folder with an invented commune to look at (docs/demo.md)."""
    from pathlib import Path

    from . import demo as commune
    from . import messaging
    from .unit_of_work import unit_of_work

    _migrate_unless_current()
    try:
        with unit_of_work():
            filled = commune.fill(days=days, seed=seed)
    except commune.NotEmpty as refused:
        raise click.ClickException(str(refused)) from None
    marker = Path(current_app.config["DATA_DIR"]) / messaging.DEMO_MARKER
    marker.write_text("Filled by `hotline demo`: nothing here is sent or dialled (docs/demo.md).\n",
                      encoding="utf-8")
    click.echo(f"An invented commune: {filled.teams} teams, {filled.villages} villages, {len(filled.staff)} "
               f"staff and {filled.requests} requests over {days} days (seed {seed}). Nothing was sent: "
               "every number is invented (0900 00x xxx).")
    click.echo(f"Every demo account's password: {filled.password}")
    for username, name, role, team in filled.staff:
        click.echo(f"  {username:<9} {name:<18} {role:<9} {team}".rstrip())
    click.echo("Now `hotline up`, open the dashboard and log in as admin. Keep this folder for the demo: "
               "a real install starts in an empty one.")


def _migrate_unless_current() -> None:
    """Migrate the database as `hotline up` does; quietly nothing when it is at the head already
    (Alembic's log lines would bury a one-line answer)."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask_migrate import upgrade

    from .extensions import db

    migrate = current_app.extensions["migrate"]
    heads = set(ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory)).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        upgrade(directory=migrate.directory)

# --- the outbox ----------------------------------------------------------------------

@click.group("outbox", cls=AppGroup, invoke_without_command=True)
@click.pass_context
def outbox_group(ctx: click.Context) -> None:
    """Jobs between the database and RQ: pending, set aside, relayed but unfinished, failed.

    Alone, the same as `hotline outbox list`."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(outbox_list)


@outbox_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the counts and rows as JSON.")
@click.option("--limit", default=20, show_default=True, help="Rows shown per state.")
def outbox_list(as_json: bool, limit: int) -> None:
    """Counts per state, then the rows that need a look (set aside and failed with their reasons)."""
    from . import outbox

    state = outbox.summary()
    sections = {name: outbox.rows_in(name, limit) for name in outbox.STATES}
    if as_json:
        click.echo(json.dumps({
            "pending": state.pending,
            "oldest_pending_age_seconds": state.oldest_pending_age,
            "scheduled": state.scheduled,
            "set_aside": state.set_aside,
            "relayed_unfinished": state.relayed_unfinished,
            "failed": state.failed,
            "rows": {name: [_outbox_row(row) for row in rows] for name, rows in sections.items()},
        }, indent=2))
        return
    age = f" (oldest {state.oldest_pending_age:.0f} s)" if state.oldest_pending_age is not None else ""
    click.echo(f"pending: {state.pending}{age}")
    click.echo(f"scheduled for later: {state.scheduled}")
    click.echo(f"set aside: {state.set_aside}")
    click.echo(f"relayed, not finished: {state.relayed_unfinished}")
    click.echo(f"failed: {state.failed}")
    titles = {"set_aside": "Set aside (`hotline outbox retry ID` puts one back):",
              "failed": "Failed after RQ's retries:", "unfinished": "Relayed, not finished:",
              "pending": "Pending:", "scheduled": "Scheduled for later:"}
    for name, rows in sections.items():
        if rows:
            click.echo(f"\n{titles[name]}")
        for row in rows:
            line = _outbox_row(row)
            reason = line["set_aside_reason"] or line["last_error"] or ""
            click.echo(f"  #{row.id:<6} {row.job_id:<40} {row.func:<45} {reason}".rstrip())


def _outbox_row(row) -> dict:
    def when(moment):
        return moment.isoformat() if moment else None

    return {
        "id": row.id, "job_id": row.job_id, "func": row.func, "queue": row.queue,
        "attempts": row.attempts, "created_at": when(row.created_at), "relayed_at": when(row.relayed_at),
        "set_aside_at": when(row.set_aside_at), "set_aside_reason": row.set_aside_reason,
        "failed_at": when(row.failed_at), "last_error": row.last_error, "run_at": when(row.run_at),
    }


@outbox_group.command("retry")
@click.argument("row_ids", nargs=-1, type=int, required=True)
def outbox_retry(row_ids: tuple[int, ...]) -> None:
    """Put set-aside or failed rows back in the outbox; the relay takes them on its next pass.

    All of them or none (one unit of work): a row that cannot go back leaves the others as they were."""
    from . import outbox
    from .unit_of_work import unit_of_work

    done = []
    with unit_of_work():
        for row_id in row_ids:
            try:
                row = outbox.put_back(row_id)
            except LookupError as error:
                raise click.ClickException(f"no outbox row {row_id}") from error
            except outbox.NotRetryable as error:
                raise click.ClickException(str(error)) from error
            done.append((row.id, row.job_id))
    for row_id, job_id in done:
        click.echo(f"row {row_id} is pending again (job {job_id})")


@outbox_group.command("reconcile")
@click.option("--grace", type=float, help="Seconds a relayed job may be missing from Redis "
              "(default: OUTBOX_RECONCILE_GRACE_SECONDS, 60).")
def outbox_reconcile(grace: float | None) -> None:
    """Compare relayed rows with Redis now: stamp finished and failed jobs, enqueue lost ones again."""
    from . import outbox
    from .queueing import get_redis

    redis = get_redis()
    if redis is None:
        raise click.ClickException("no Redis configured")
    done = outbox.reconcile(redis, grace=grace)
    click.echo(f"enqueued again {done.requeued}, finished {done.finished}, failed {done.failed}, "
               f"set aside {done.set_aside}")


# --- the job registry ------------------------------------------------------------------

@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """The background jobs (hotline.jobs) and the bodies workers/ binds to them."""


@jobs_group.command("check")
def jobs_check() -> None:
    """Fail when a declared job has no body in workers/ (what `hotline worker` checks at start)."""
    from workers.main import JOB_MODULES  # importing workers/ binds the bodies

    from . import jobs

    problems = jobs.registry.problems()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} job(s) would resolve to nothing")
    click.echo(f"{len(jobs.registry.jobs)} jobs, each with its body ({len(JOB_MODULES)} modules)")


@jobs_group.command("list")
def jobs_list() -> None:
    """Each job: its name (the outbox's `func`), queue, body and former dotted names."""
    from workers.main import JOB_MODULES  # noqa: F401  (importing workers/ binds the bodies)

    from . import jobs

    for spec in jobs.registry.jobs.values():
        body = f"{spec.body.__module__}.{spec.body.__qualname__}" if spec.body else "(no body)"
        former = ", ".join(old for old, same in jobs.registry.former_names.items() if same is spec)
        click.echo(f"{spec.name:<28} {spec.queue:<8} {body}" + (f"  (was {former})" if former else ""))
