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
from .staff import (  # noqa: F401, E402
    AuditEntry,
    HomeVisit,
    LoginFailure,
    OfficeHours,
    Outcome,
    Role,
    RosterShift,
    Staff,
    Team,
    Village,
)
