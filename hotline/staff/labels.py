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
from flask_babel.speaklater import LazyString

from ..models import EventKind, Topic
from ..training_scenarios import Step

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
#: The procedures residents ask about (hotline.models.Topic: the one list the voice menu,
#: SMS topic words, the queue filter and the reports share).
TOPICS: dict[str, LazyString] = {
    Topic.VNEID: _l("VNeID electronic identity"),
    Topic.CIVIL_STATUS: _l("civil status (birth, death, marriage)"),
    Topic.RESIDENCE: _l("residence registration"),
    Topic.PENSION_ALLOWANCE: _l("pension and social allowances"),
    Topic.HEALTH_INSURANCE: _l("health insurance"),
    Topic.LAND: _l("land papers"),
    Topic.PUBLIC_PORTAL: _l("public service portal"),
    Topic.PAYMENTS: _l("cashless payments"),
    Topic.SCAM: _l("scam warning"),
    Topic.OTHER: _l("another procedure"),
}
#: One label per hotline.models.EventKind (a test checks every kind, in both languages).
EVENT_KINDS: dict[str, LazyString] = {
    EventKind.CREATED: _l("request created"),
    EventKind.CLAIMED: _l("request claimed"),
    EventKind.RELEASED: _l("released"),
    EventKind.REASSIGNED: _l("reassigned"),
    EventKind.OUTCOME: _l("outcome"),
    EventKind.NOTE: _l("note"),
    EventKind.VISIT_BOOKED: _l("home visit booked"),
    EventKind.TRANSFERRED: _l("transferred"),
    EventKind.ROUTED: _l("village set"),
    EventKind.FLAG: _l("flag changed"),
    EventKind.RETRY_DUE: _l("retry due"),
    EventKind.CANCELLED: _l("cancelled"),
    EventKind.CALLBACK_REQUESTED: _l("callback requested"),
    EventKind.CALLBACK_PLACED: _l("callback placed"),
    EventKind.CALLBACK_FAILED: _l("callback failed"),
    EventKind.DROPPED_CALL: _l("dropped call"),
    EventKind.MISSED_CALL: _l("missed call"),
    EventKind.VOICE_MESSAGE: _l("voice message"),
    EventKind.RECORDING_FAILED: _l("recording failed"),
    EventKind.RECORDING_ABSENT: _l("recording absent"),
    EventKind.SMS_IN: _l("SMS received"),
    EventKind.SMS_SENT: _l("SMS sent"),
    EventKind.SMS_NOT_SENT: _l("SMS not sent"),
    EventKind.SMS_FAILED: _l("SMS failed"),
    EventKind.SMS_DELIVERED: _l("SMS delivered"),
    EventKind.STAFF_SMS_SENT: _l("volunteer texted"),
    EventKind.STAFF_SMS_NOT_SENT: _l("volunteer not texted"),
    EventKind.STAFF_SMS_FAILED: _l("texting the volunteer failed"),
    EventKind.TRANSCRIPTION_DONE: _l("transcribed"),
    EventKind.TRANSCRIPTION_FAILED: _l("transcription failed"),
    EventKind.TRANSCRIPTION_NO_MODEL: _l("no speech model"),
    EventKind.TRANSCRIPTION_WAITING_FOR_AUDIO: _l("waiting for the recording"),
    EventKind.TRANSCRIPTION_UNREADABLE_AUDIO: _l("unreadable recording"),
    EventKind.PERSONAL_DATA_REMOVED: _l("personal data removed"),
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
    "open": _l("new"),
    "in_progress": _l("in progress"),
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
#: The languages a caller chose (ivr_flows/main.yaml `languages`) and the dashboard's own.
LANGUAGE_NAMES = {"vi": _l("Vietnamese"), "mnong": _l("M'Nông"), "en": _l("English")}
#: Who wrote a timeline row or an audit entry, when it was not a staff member.
ACTORS = {
    "system": _l("the hotline (automatic)"),
    "resident:sms": _l("the resident, by SMS"),
    "resident:voice": _l("the resident, by phone"),
    "cli": _l("the command line"),
    "api": _l("the API"),
    "test": _l("set-up"),
    "?": _l("unknown user"),
}
#: Where a staff member acted from (the `via` of an audit entry).
VIA = {"web": _l("on the dashboard"), "api": _l("through the API"), "sms": _l("by SMS")}
#: What the CSV import reads (hotline.staff.importer.COLUMNS).
IMPORT_KINDS = {
    "teams": _l("teams"),
    "villages": _l("villages"),
    "staff": _l("staff"),
    "roster": _l("duty roster"),
    "office-hours": _l("office hours"),
    "residents": _l("residents"),
}
#: The columns of those files, named in import errors ('row 3, column "name": empty').
IMPORT_COLUMNS = {
    "code": _l("code"),
    "name": _l("name"),
    "team": _l("team"),
    "username": _l("username"),
    "role": _l("role"),
    "phone": _l("phone"),
    "password": _l("password"),
    "language": _l("language"),
    "weekday": _l("weekday"),
    "start": _l("start"),
    "end": _l("end"),
    "position": _l("position"),
    "opens": _l("opens"),
    "closes": _l("closes"),
    "village": _l("village"),
}
#: The audit log's actions (hotline.staff.audit.record).
AUDIT_ACTIONS = {
    "login": _l("logged in"),
    "login_failed": _l("failed login"),
    "logout": _l("logged out"),
    "password_set": _l("password set"),
    "api_token_issued": _l("API token issued"),
    "staff_created": _l("account created"),
    "staff_changed": _l("account changed"),
    "village_team": _l("village assigned to a team"),
    "claim": _l("request claimed"),
    "release": _l("request released"),
    "reassign": _l("request reassigned"),
    "outcome": _l("outcome recorded"),
    "visit_booked": _l("home visit booked"),
    "transfer": _l("request transferred"),
    "note": _l("note added"),
    "set_village": _l("village set"),
    "set_elderly": _l("elderly flag changed"),
    "callback": _l("call back through the hotline"),
    "import_teams": _l("teams imported"),
    "import_villages": _l("villages imported"),
    "import_staff": _l("staff imported"),
    "import_roster": _l("duty roster imported"),
    "import_office_hours": _l("office hours imported"),
    "import_residents": _l("residents imported"),
    "login_unlocked": _l("account unlocked"),
    "password_reset": _l("password reset"),
    "team_added": _l("team added"),
    "village_added": _l("village added"),
    "pin_set": _l("recording PIN set"),
    "booth_entered": _l("entered the recording line by phone"),
    "booth_pin_locked": _l("recording line locked after wrong PINs"),
    "prompt_uploaded": _l("prompt recording sent"),
    "prompt_approved": _l("prompt recording approved"),
    "recording_played": _l("voice message played"),
    "transcript_read": _l("transcript read"),
    "resident_exported": _l("resident's data exported"),
    "resident_erased": _l("resident's data erased"),
    "training_reset": _l("training space wiped"),
}
#: The details an audit entry keeps (its `data`), by name.
AUDIT_FIELDS = {
    "via": _l("how"),
    "outcome": _l("outcome"),
    "attempt": _l("try"),
    "visit_on": _l("visit date"),
    "volunteer": _l("volunteer"),
    "to": _l("to"),
    "previous": _l("before"),
    "village": _l("village"),
    "team": _l("team"),
    "elderly": _l("elderly"),
    "role": _l("role"),
    "phone": _l("phone"),
    "active": _l("account active"),
    "rows": _l("rows"),
    "name": _l("name"),
    "call_sid": _l("call"),
    "recording": _l("recording no."),
    "channel": _l("recorded"),
    "voice_message": _l("voice message no."),
    "voice_messages": _l("voice messages no."),
    "requests": _l("requests"),
    "reason": _l("reason"),
    "tickets": _l("requests removed"),
    "recordings": _l("recordings removed"),
    "transcripts": _l("transcripts removed"),
    "texts": _l("texts removed"),
    "call_steps": _l("call menu steps removed"),
    "numbers": _l("numbers removed"),
    "residents": _l("resident records removed"),
    # `hotline training reset` (hotline.training_reset.Wiped); the keys above count too.
    "rehearsals": _l("rehearsals removed"),
    "timeline_lines": _l("timeline lines removed"),
    "voicemails": _l("voice messages removed"),
    "visits": _l("home visits removed"),
    "calls": _l("calls removed"),
    "audit_entries": _l("audit entries removed"),
    "jobs": _l("background jobs removed"),
}
#: A training scenario's checklist (hotline.training_scenarios.Step), as the trainer's page shows it.
TRAINING_STEPS: dict[str, LazyString] = {
    Step.REQUEST_OPENED: _l("the call or text opened a request"),
    Step.VOICE_MESSAGE_LEFT: _l("voice message left"),
    Step.TRANSCRIPT_ARRIVED: _l("transcript arrived"),
    Step.SMS_RECEIVED: _l("text message received"),
    Step.CLAIMED: _l("request claimed"),
    Step.CALLED_BACK: _l("called back through the hotline"),
    Step.NOTE_WRITTEN: _l("note written"),
    Step.OUTCOME_RECORDED: _l("outcome recorded"),
    Step.OUTCOME_RESOLVED: _l("recorded as resolved"),
    Step.VISIT_BOOKED: _l("home visit booked"),
}
#: How a prompt recording reached the hotline (`PromptRecording.channel`, in the audit log).
PROMPT_CHANNELS = {"phone": _l("by phone"), "browser": _l("in the browser")}

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
    "language": LANGUAGE_NAMES,
    "actor": ACTORS,
    "via": VIA,
    "import_kind": IMPORT_KINDS,
    "audit_action": AUDIT_ACTIONS,
    "training_step": TRAINING_STEPS,
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
