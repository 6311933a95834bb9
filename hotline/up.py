"""`hotline up`: everything on one machine, supervised (hotline/supervisor.py).

Loaded only when `hotline up` runs (hotline/cli.py lists it without importing it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
import requests

from . import create_app


@click.command()
@click.option("--port", default=5000, show_default=True)
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--web-workers", default=2, show_default=True)
def up(port: int, host: str, web_workers: int) -> None:
    """Run everything on this machine (migrations, Redis, web, relay, workers) and keep it running.

    A process that stops is restarted with backoff (see hotline/supervisor.py); only Ctrl-C,
    SIGTERM or a web process that keeps failing stops `hotline up`.
    """
    from .data_files import DataFileError
    from .embedded_redis import EmbeddedRedis
    from .ivr.flow import FlowError
    from .supervisor import Child, Shutdown, Supervisor, end_with_parent

    started = time.monotonic()
    try:
        app = create_app()
    except FlowError as error:
        raise click.ClickException(f"the voice flow is broken:\n{error}") from error
    except DataFileError as error:
        raise click.ClickException(f"a data file under ivr_flows/ is broken:\n{error}") from error
    data_dir = Path(app.config["DATA_DIR"])
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.extensions["migrate"].directory)
        admin_exists = _has_admin()

    env = dict(os.environ, HOTLINE_DATA_DIR=str(data_dir))
    children = []
    embedded = None
    if not os.environ.get("REDIS_URL"):
        embedded = EmbeddedRedis(data_dir)
        env["REDIS_URL"] = embedded.url

        def start_redis() -> subprocess.Popen:
            embedded.start(process_group=0, preexec_fn=end_with_parent)  # the same port on every restart
            if embedded.process is None:
                raise RuntimeError("redis-server did not start")
            return embedded.process

        children.append(Child("redis", start_redis, last=True))
    hotline = [sys.executable, "-m", "hotline"]
    children += [
        Child.command("web", [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
                              "-c", "python:hotline.gunicorn_conf",  # /metrics across the web workers
                              "--workers", str(web_workers), "--timeout", "30", "hotline:create_app()"], env),
        Child.command("relay", [*hotline, "relay"], env),
        Child.command("worker", [*hotline, "worker", "--with-scheduler"], env),
        Child.command("asr", [*hotline, "worker", "--queue", "asr", "--with-scheduler"], env),
    ]
    local = f"http://127.0.0.1:{port}"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "web_url").write_text(local + "\n", encoding="utf-8")  # `hotline call` calls it by default
    reason = None
    try:
        with Supervisor(children, say=click.echo, adopt_orphans=True) as supervisor:
            try:
                if embedded:
                    try:
                        supervisor.start("redis")
                    except RuntimeError as error:
                        raise click.ClickException(str(error)) from error
                    click.echo(f"embedded Redis: {embedded.url} (data in {data_dir / 'redis'})")
                # The web process first, alone: calls can be answered sooner when the workers (one
                # loads speech models) don't compete with it for the CPU while it boots.
                supervisor.start("web")
                _wait_healthy(local, lambda: supervisor.running("web"))
                for name in ("relay", "worker", "asr"):
                    supervisor.start(name)
                click.echo(f"hotline is up in {time.monotonic() - started:.1f} s: {local}/healthz")
                _print_webhooks(app, port, data_dir)
                _print_dashboard(host, port, data_dir, admin_exists)
                click.echo("A process that stops is restarted; Ctrl-C stops everything.")
                reason = supervisor.run()
                click.echo(reason)
            except (KeyboardInterrupt, Shutdown) as stop:
                click.echo(f"stopping ({str(stop) or 'Ctrl-C'})…")
    finally:
        if embedded:
            embedded.stop()
    if reason is not None:
        sys.exit(1)


def _print_webhooks(app, port: int, data_dir: Path) -> None:
    from .twilio_auth import signature_url_description

    public = app.config.get("PUBLIC_URL") or f"http://<your-public-host>:{port}"
    click.echo("Paste these into the Twilio console for your number:")
    click.echo(f"  A call comes in (POST):   {public}/twilio/voice")
    click.echo(f"  Call status changes:      {public}/twilio/voice/status")
    click.echo(f"  A message comes in (POST): {public}/twilio/sms")
    click.echo(f"  Primary handler fails (POST): {public}/twilio/voice/fallback")
    click.echo(f"SMS Gateway for Android webhook (sms:received): {public}/sms-gateway/webhook")
    click.echo(signature_url_description(app))
    if app.config.get("TWILIO_AUTH_TOKEN_IS_LOCAL"):
        click.echo(
            f"No TWILIO_AUTH_TOKEN set: requests must be signed with the local token "
            f"{app.config['TWILIO_AUTH_TOKEN']} (stored in {data_dir / 'twilio_auth_token'})."
        )


def _has_admin() -> bool:
    """Whether anyone can log in as an admin: an active admin account with a password."""
    from sqlalchemy import select

    from .extensions import db
    from .models import Role, Staff

    return db.session.scalar(
        select(Staff.id)
        .where(Staff.role == Role.ADMIN, Staff.active.is_(True), Staff.password_hash.is_not(None))
        .limit(1)
    ) is not None


def _print_dashboard(host: str, port: int, data_dir: Path, admin_exists: bool) -> None:
    """Where to open the dashboard, from this machine and from the office network, and on a
    fresh data folder the one command that makes the first admin account."""
    click.echo(f"Dashboard: http://127.0.0.1:{port}/")
    if host in ("0.0.0.0", "::"):
        for address in _lan_addresses():
            click.echo(f"  from another device on the office network: http://{address}:{port}/")
    if not admin_exists:
        prefix = "" if data_dir == _default_data_dir() else f"HOTLINE_DATA_DIR={data_dir} "
        click.echo("No admin account yet. Create the first one (it asks for the password):")
        click.echo(f'  {prefix}hotline users create admin --name "Quản trị" --role admin')


def _default_data_dir() -> Path:
    from .config import default_data_dir

    return default_data_dir()


def _lan_addresses() -> list[str]:
    """This machine's address on the network it routes through (none when offline). The UDP
    socket only picks a route: nothing is sent."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
    except OSError:
        return []
    return [] if address.startswith("127.") else [address]


def _wait_healthy(url: str, web_running: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not web_running():
            raise click.ClickException("the web server exited during start-up")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise click.ClickException(f"{url}/healthz did not answer within {timeout:.0f} s")
