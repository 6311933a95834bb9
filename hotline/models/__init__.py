"""All models, importable from `hotline.models`. Each area keeps its tables in its own module."""

from .core import (  # noqa: F401
    Call,
    CallStep,
    Channel,
    OutboxMessage,
    Resident,
    Ticket,
    TicketEvent,
    TicketReason,
    TicketStatus,
    UTCDateTime,
    VoiceMessage,
    utcnow,
)
from .org import Role, Staff, Team, Village  # noqa: F401, E402
from .prompts import PromptRecording, RecordingStatus  # noqa: F401, E402
from .sms import SmsMessage, SmsOptOut, SmsOutbound  # noqa: F401,E402
from .speech import Transcription, TranscriptionStatus  # noqa: F401, E402
from .staff import (  # noqa: F401, E402
    AuditEntry,
    HomeVisit,
    LoginFailure,
    OfficeHours,
    Outcome,
    RosterShift,
)
from .training import TrainingRun  # noqa: F401, E402
from .vocabulary import EventKind, Topic  # noqa: F401, E402
