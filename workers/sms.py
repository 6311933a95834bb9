"""Outgoing SMS jobs: take the id of an `sms_outbound` row; a second run sends nothing."""

from __future__ import annotations

from hotline import jobs, messaging
from hotline.extensions import db
from hotline.unit_of_work import unit_of_work


@jobs.send_outbound_sms.implementation
def send_sms(outbound_id: int) -> str:
    """Send one queued SMS; a provider hiccup raises so RQ retries with backoff (outbox.JOB_RETRY).

    One unit of work, and on a hiccup a second one: the failed send wrote nothing, the try
    and its error are noted on the row (so the dashboard shows why it waits), then RQ retries.
    """
    try:
        with unit_of_work():
            return messaging.send_outbound(outbound_id)
    except messaging.TransientSendError as error:
        with unit_of_work():
            messaging.note_send_error(outbound_id, error)
        raise
    finally:
        db.session.remove()
