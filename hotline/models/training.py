"""The training space: rehearsals on the browser phone (`/staff/simulator`).

A `TrainingRun` is one trainee rehearsing one scenario (`ivr_flows/training/`): the
simulated resident's number is the run's own, and every request its calls and texts
open carries the run's id (`Ticket.training_run_id`), which keeps it out of the real
queue, the reports, the exports and the API (hotline.training).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model, UTCDateTime, utcnow
from .org import Staff


class TrainingRun(Model):
    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    #: The scenario's file name in ivr_flows/training/ (without .yaml).
    scenario: Mapped[str] = mapped_column(String(64))
    #: The simulated resident's number (E.164), unique to the run; None: a withheld number.
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    trainee: Mapped[Staff] = relationship()
