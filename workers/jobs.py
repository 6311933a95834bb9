"""Jobs about a new request. Each takes ids, not objects, and is idempotent: a second run changes nothing.

Jobs run inside the app context that `hotline worker` pushed before RQ forked.
"""

from __future__ import annotations

from hotline import jobs, messaging


@jobs.send_request_confirmation.implementation
def send_request_confirmation(ticket_id: int) -> str:
    """Tell the resident their request was received and give them its code."""
    return messaging.send_ticket_sms(ticket_id, "request_confirmation", key="confirmation")
