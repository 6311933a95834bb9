"""The closed vocabularies stored in the database: what a timeline line is (`EventKind`) and
which procedure a request is about (`Topic`).

Each value is the string already stored in `ticket_events.kind` and `tickets.topic`, so a
row written before these enums existed is still a member. A new kind or topic is added
here, given a label in `hotline.staff.labels` (a test checks both languages), and, for a
topic, a menu option or SMS words in `ivr_flows/` that the flow and keyword checks refuse
until the topic is listed here.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """One line of a request's timeline (`TicketEvent.kind`); `tickets.add_event` takes no other."""

    # The request itself.
    CREATED = "created"
    NOTE = "note"
    FLAG = "flag"  # data: {"elderly": bool}
    ROUTED = "routed"  # data: {"village": code}
    CANCELLED = "cancelled"
    # Who works it.
    CLAIMED = "claimed"
    RELEASED = "released"
    REASSIGNED = "reassigned"
    TRANSFERRED = "transferred"
    OUTCOME = "outcome"
    RETRY_DUE = "retry_due"
    VISIT_BOOKED = "visit_booked"
    # Calls.
    CALLBACK_REQUESTED = "callback_requested"
    CALLBACK_PLACED = "callback_placed"
    CALLBACK_FAILED = "callback_failed"  # data: {"reason": "no_credentials" | "refused", "http_status"}
    DROPPED_CALL = "dropped_call"
    MISSED_CALL = "missed_call"
    # Voice messages and their transcription.
    VOICE_MESSAGE = "voice_message"
    RECORDING_FAILED = "recording_failed"
    RECORDING_ABSENT = "recording_absent"
    TRANSCRIPTION_DONE = "transcription_done"
    TRANSCRIPTION_FAILED = "transcription_failed"  # data: {"step": "download" | "transcribe", "detail"}
    TRANSCRIPTION_NO_MODEL = "transcription_no_model"
    TRANSCRIPTION_WAITING_FOR_AUDIO = "transcription_waiting_for_audio"
    TRANSCRIPTION_UNREADABLE_AUDIO = "transcription_unreadable_audio"
    # SMS with the resident.
    SMS_IN = "sms_in"
    SMS_SENT = "sms_sent"
    SMS_NOT_SENT = "sms_not_sent"  # data: {"reason": ...} or, for a reply, {"no_reply": ...}
    SMS_FAILED = "sms_failed"  # data: {"detail"} or, the provider's later word, {"status"}
    SMS_DELIVERED = "sms_delivered"
    # SMS to a volunteer.
    STAFF_SMS_SENT = "staff_sms_sent"
    STAFF_SMS_NOT_SENT = "staff_sms_not_sent"
    STAFF_SMS_FAILED = "staff_sms_failed"
    # Residents' data (hotline.personal_data).
    PERSONAL_DATA_REMOVED = "personal_data_removed"  # data: {"why": "recordings"|"texts"|"erased", "days"}


class Topic(StrEnum):
    """The procedure a request is about (`Ticket.topic`): one list for the voice menu
    (ivr_flows/main.yaml), SMS topic words (ivr_flows/sms/keywords.yaml), the dashboard's
    filter and the reports. Keys are the voice menu's, which staff labels already knew;
    SMS's `pension` became `pension_allowance` (migration 0010)."""

    VNEID = "vneid"
    CIVIL_STATUS = "civil_status"
    RESIDENCE = "residence"
    PENSION_ALLOWANCE = "pension_allowance"
    HEALTH_INSURANCE = "health_insurance"
    LAND = "land"
    PUBLIC_PORTAL = "public_portal"
    PAYMENTS = "payments"
    SCAM = "scam"
    OTHER = "other"


def is_topic(value: object) -> bool:
    return isinstance(value, str) and value in Topic._value2member_map_


def known_topics() -> str:
    """The topics, for an error message: `vneid, civil_status, …`."""
    return ", ".join(Topic)
