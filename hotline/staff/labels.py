"""What a person reads for a stored key: statuses, reasons, event kinds, topics, roles.

Stored values never go through `_()`. Jinja's `_()` marks its result safe and %-formats
it, so a value a provider or a caller chose (a signed `RecordingStatus`, an SMS topic)
would be rendered as live HTML, and `%(x)s` in it would raise on every view of the page.
Instead each key is looked up in a fixed table of lazy_gettext labels; a key the table
does not know shows as "other (<key>)", formatted by Python into a plain string that the
template escapes like any other data.

Templates call `label("status", ticket.status)`; Python code calls `label(STATUSES, key)`.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

STATUSES = {
    "open": _l("new"),
    "in_progress": _l("in progress"),
    "resolved": _l("resolved"),
    "cancelled": _l("cancelled"),
}
OUTCOMES = {
    "resolved": _l("resolved"),
    "no_answer": _l("no answer"),
    "unreachable": _l("unreachable"),
    "wrong_number": _l("wrong number"),
    "home_visit": _l("home visit booked"),
    "transferred": _l("transferred to another team"),
}
REASONS = {
    "callback_requested": _l("callback requested"),
    "dropped_call": _l("dropped call"),
    "missed_call": _l("missed call"),
    "voicemail": _l("voice message"),
    "sms": _l("SMS"),
}
CHANNELS = {"voice": _l("phone call"), "sms": _l("text message (SMS)")}
ROLES = {"volunteer": _l("volunteer"), "lead": _l("team lead"), "admin": _l("administrator")}
#: The procedures residents ask about: IVR menu topics (ivr_flows/main.yaml) and SMS topic
#: words (ivr_flows/sms/keywords.yaml). A topic added there shows as "other (key)" until
#: it gets a label here.
TOPICS = {
    "vneid": _l("VNeID electronic identity"),
    "civil_status": _l("civil status (birth, death, marriage)"),
    "residence": _l("residence registration"),
    "pension": _l("pension and social allowances"),
    "pension_allowance": _l("pension and social allowances"),
    "health_insurance": _l("health insurance"),
    "land": _l("land papers"),
    "public_portal": _l("public service portal"),
    "payments": _l("cashless payments"),
    "scam": _l("scam warning"),
    "other": _l("another procedure"),
}
EVENT_KINDS = {
    "created": _l("request created"),
    "claimed": _l("request claimed"),
    "released": _l("released"),
    "reassigned": _l("reassigned"),
    "outcome": _l("outcome"),
    "note": _l("note"),
    "visit_booked": _l("home visit booked"),
    "transferred": _l("transferred"),
    "routed": _l("village set"),
    "flag": _l("flag changed"),
    "retry_due": _l("retry due"),
    "cancelled": _l("cancelled"),
    "callback_requested": _l("callback requested"),
    "callback_placed": _l("callback placed"),
    "callback_failed": _l("callback failed"),
    "dropped_call": _l("dropped call"),
    "missed_call": _l("missed call"),
    "voice_message": _l("voice message"),
    "recording_failed": _l("recording failed"),
    "recording_absent": _l("recording absent"),
    "sms_in": _l("SMS received"),
    "sms_sent": _l("SMS sent"),
    "sms_not_sent": _l("SMS not sent"),
    "sms_failed": _l("SMS failed"),
    "sms_delivered": _l("SMS delivered"),
    "staff_sms_sent": _l("volunteer texted"),
    "staff_sms_not_sent": _l("volunteer not texted"),
    "staff_sms_failed": _l("texting the volunteer failed"),
    "transcription_done": _l("transcribed"),
    "transcription_failed": _l("transcription failed"),
    "transcription_no_model": _l("no speech model"),
    "transcription_waiting_for_audio": _l("waiting for the recording"),
    "transcription_unreadable_audio": _l("unreadable recording"),
}
TRANSCRIPTION_STATUSES = {
    "queued": _l("waiting to be transcribed"),
    "running": _l("being transcribed"),
    "waiting_for_audio": _l("waiting for the recording"),
    "no_model": _l("no speech model"),
    "unreadable_audio": _l("unreadable recording"),
    "failed": _l("transcription failed"),
    "done": _l("transcribed"),
}
#: The queue page's status filter (hotline.staff.queue.STATUS_FILTERS).
QUEUE_FILTERS = {
    "active": _l("active"),
    "unclaimed": _l("unclaimed"),
    "claimed": _l("claimed by someone"),
    "mine": _l("mine"),
    "waiting": _l("waiting for a retry"),
    "resolved": _l("resolved"),
    "cancelled": _l("cancelled"),
}
#: The report page's grouping and period (hotline.staff.reports.DIMENSIONS, PERIODS).
DIMENSIONS = {
    "none": _l("in total"),
    "team": _l("team"),
    "village": _l("village"),
    "topic": _l("procedure"),
    "channel": _l("channel"),
}
PERIODS = {"day": _l("day"), "week": _l("week"), "month": _l("month")}

#: The tables templates name: `label("kind", e.kind)`.
GROUPS: dict[str, Mapping] = {
    "status": STATUSES,
    "outcome": OUTCOMES,
    "reason": REASONS,
    "channel": CHANNELS,
    "role": ROLES,
    "topic": TOPICS,
    "kind": EVENT_KINDS,
    "transcription": TRANSCRIPTION_STATUSES,
    "queue_filter": QUEUE_FILTERS,
    "dimension": DIMENSIONS,
    "period": PERIODS,
}


def label(group: str | Mapping, key: object) -> str:
    """The reader's words for `key`; "other (key)" for a key the table lacks; "—" for none.

    Always a plain `str`, never Markup: the template escapes it, whatever `key` holds.
    """
    table = GROUPS[group] if isinstance(group, str) else group
    if key is None or key == "":
        return "—"
    known = table.get(key) if isinstance(key, str) else None
    if known is not None:
        return str(known)
    return _("other (%(value)s)", value=str(key))
