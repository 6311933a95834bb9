"""Jobs about a new request. Each takes ids, not objects, and is idempotent: a second run changes nothing.

Jobs run inside the app context that `hotline worker` pushed before RQ forked; each
job is one unit of work (hotline.unit_of_work): what it did commits when it returns,
nothing of it when it raises (RQ then runs it again).
"""

from __future__ import annotations

from hotline import jobs, messaging
from hotline.unit_of_work import in_unit_of_work


@jobs.send_request_confirmation.implementation
@in_unit_of_work(release_session=True)
def send_request_confirmation(ticket_id: int) -> str:
    """Tell the resident their request was received and give them its code."""
    return messaging.send_ticket_sms(ticket_id, "request_confirmation", key="confirmation")
