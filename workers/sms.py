"""Outgoing SMS jobs: take the id of an `sms_outbound` row; a second run sends nothing."""

from __future__ import annotations

from hotline import jobs, messaging


@jobs.send_outbound_sms.implementation
def send_sms(outbound_id: int) -> str:
    """Send one queued SMS; a provider hiccup raises so RQ retries with backoff (outbox.JOB_RETRY)."""
    return messaging.send_outbound(outbound_id)
