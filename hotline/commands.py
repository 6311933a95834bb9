"""Commands that work on the app (`hotline tickets …`, `hotline worker`, …).

Registered on `app.cli` by create_app, so `hotline` and the test runner see the same commands.
"""

from __future__ import annotations

import json

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from .transcription import cli as speech_cli

tickets = AppGroup("tickets", help="Requests in the queue.")


def init_app(app: Flask) -> None:
    app.cli.add_command(tickets)
    app.cli.add_command(worker)
    app.cli.add_command(relay)
    from .ivr import commands as ivr_commands  # prompts …, call
    from .staff import cli as staff_cli

    speech_cli.init_app(app)
    ivr_commands.init_app(app)
    app.cli.add_command(staff_cli.import_command)
    app.cli.add_command(staff_cli.users)


@tickets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.option("--status", help="Only requests with this status (open, resolved, …).")
@click.option("--channel", type=click.Choice(["voice", "sms"]))
def tickets_list(as_json: bool, status: str | None, channel: str | None) -> None:
    """List requests, oldest first."""
    from .tickets import list_tickets, ticket_as_dict

    rows = [ticket_as_dict(ticket) for ticket in list_tickets(status=status, channel=channel)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['code']:>8}  {row['status']:<11} {row['channel']:<5} {row['reason']:<18} "
            f"{row['phone'] or '(no number)':<14} {row['created_at']}"
        )


# --- background processes ------------------------------------------------------------


@click.command()
@with_appcontext
@click.option("-q", "--queue", "queues", multiple=True, default=["default"], show_default=True)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True)
def worker(queues: tuple[str, ...], burst: bool, with_scheduler: bool) -> None:
    """Run an RQ worker inside the app (the app is built once, before RQ forks)."""
    from workers.main import run_worker

    run_worker(current_app._get_current_object(), queues, burst=burst, with_scheduler=with_scheduler)


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
    try:
        relay_forever(interval)
    except KeyboardInterrupt:  # Ctrl-C from `hotline up` or a terminal: a clean stop
        pass


