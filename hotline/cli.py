"""The `hotline` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests
from flask.cli import FlaskGroup

from . import create_app

cli = FlaskGroup(
    create_app=create_app,
    add_version_option=False,
    load_dotenv=False,
    help="A voice and SMS hotline for the commune's public-service teams.",
)


from .ivr.commands import flows  # noqa: E402  (works without building the app, e.g. on a broken flow)

cli.add_command(flows)


def main() -> None:
    cli.main(prog_name="hotline")


# --- one machine ---------------------------------------------------------------------


@cli.command(with_appcontext=False)
@click.option("--port", default=5000, show_default=True)
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--web-workers", default=2, show_default=True)
def up(port: int, host: str, web_workers: int) -> None:
    """Run everything on this machine: migrations, Redis, web, relay, worker."""
    from .embedded_redis import EmbeddedRedis
    from .ivr.flow import FlowError

    started = time.monotonic()
    try:
        app = create_app()
    except FlowError as error:
        raise click.ClickException(f"the voice flow is broken:\n{error}") from error
    data_dir = Path(app.config["DATA_DIR"])
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.extensions["migrate"].directory)

    embedded = None
    env = dict(os.environ, HOTLINE_DATA_DIR=str(data_dir))
    if not os.environ.get("REDIS_URL"):
        embedded = EmbeddedRedis(data_dir)
        env["REDIS_URL"] = embedded.start()
        click.echo(f"embedded Redis: {env['REDIS_URL']} (data in {data_dir / 'redis'})")

    hotline = [sys.executable, "-m", "hotline"]
    commands = {
        "web": [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
                "-c", "python:hotline.gunicorn_conf",  # /metrics across the web workers
                "--workers", str(web_workers), "--timeout", "30", "hotline:create_app()"],
        "relay": [*hotline, "relay"],
        "worker": [*hotline, "worker", "--with-scheduler"],
        "asr": [*hotline, "worker", "--queue", "asr", "--with-scheduler"],
    }
    # The web process first, alone: calls can be answered sooner when the workers (one
    # loads speech models) don't compete with it for the CPU while it boots.
    children = {"web": subprocess.Popen(commands.pop("web"), env=env)}

    def stop(*_: object) -> None:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded:
            embedded.stop()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        local = f"http://127.0.0.1:{port}"
        _wait_healthy(local, children["web"])
        children.update({name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()})
        public = app.config.get("PUBLIC_URL") or f"http://<your-public-host>:{port}"
        click.echo(f"hotline is up in {time.monotonic() - started:.1f} s: {local}/healthz")
        click.echo("Paste these into the Twilio console for your number:")
        click.echo(f"  A call comes in (POST):   {public}/twilio/voice")
        click.echo(f"  Call status changes:      {public}/twilio/voice/status")
        click.echo(f"  A message comes in (POST): {public}/twilio/sms")
        click.echo(f"SMS Gateway for Android webhook (sms:received): {public}/sms-gateway/webhook")
        if app.config.get("TWILIO_AUTH_TOKEN_IS_LOCAL"):
            click.echo(
                f"No TWILIO_AUTH_TOKEN set: requests must be signed with the local token "
                f"{app.config['TWILIO_AUTH_TOKEN']} (stored in {data_dir / 'twilio_auth_token'})."
            )
        click.echo("Ctrl-C stops everything.")
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        failed = [name for name, child in children.items() if child.poll() is not None]
        raise click.ClickException(f"{', '.join(failed)} stopped; shutting down")
    except KeyboardInterrupt:
        click.echo("stopping…")
    finally:
        stop()


def _wait_healthy(url: str, web: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise click.ClickException("the web server exited during start-up")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise click.ClickException(f"{url}/healthz did not answer within {timeout:.0f} s")
