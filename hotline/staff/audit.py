"""The audit log: every change a person makes, written in the same unit of work as the change.

Who acted is an argument (the domain function knows it); where from is the client address
the edge gave its unit of work (`unit_of_work(client_address=…)`), so the log never reads
the request itself and works the same for the dashboard, the API, SMS commands and the CLI
(which have none).
"""

from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import AuditEntry
from ..unit_of_work import client_address


def record(actor: str, action: str, target: str | None = None, **data: Any) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target=target, data=data or None, ip=client_address())
    db.session.add(entry)
    return entry
