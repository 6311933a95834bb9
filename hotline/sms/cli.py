"""`hotline sms "tra cuu 123456" --from 0912345678`: a message through the real pipeline."""

from __future__ import annotations

import uuid

import click
from flask.cli import with_appcontext


@click.command("sms")
@with_appcontext
@click.argument("text")
@click.option("--from", "from_number", required=True, help="The sender, e.g. 0912345678.")
@click.option("--send", is_flag=True, help="Also queue the reply for the SMS provider.")
def sms_command(text: str, from_number: str, send: bool) -> None:
    """Run one SMS through the same path as the webhooks and print the reply.

    Shows throttling as the pipeline decides it: a repeat of the same text from the same
    number (answers shown here count) prints the one notice, then "(no reply: repeat)"."""
    from .. import messaging
    from ..unit_of_work import unit_of_work
    from . import pipeline

    with unit_of_work():
        result = pipeline.receive_sms(
            provider="cli", dedup_key=uuid.uuid4().hex, from_number=from_number, text=text,
            reply_mode=pipeline.REPLY_QUEUE if send else pipeline.REPLY_RETURN,
        )
    message = result.message
    throttled = message.no_reply_reason in (messaging.THROTTLE_REPEAT, messaging.THROTTLE_CEILING)
    if result.reply:
        click.echo(result.reply)
    else:
        click.echo(f"(no reply: {message.no_reply_reason or 'none'})")
    details = f"intent: {message.intent}"
    if message.ticket is not None:
        details += f"; request {message.ticket.code} ({message.ticket.status})"
    if throttled:
        details += (
            f"; throttled ({message.no_reply_reason}): "
            + ("the reply above is the one notice" if result.reply else "notice already sent, no reply")
        )
    click.echo(details, err=True)
