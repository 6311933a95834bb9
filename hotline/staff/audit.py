"""The audit log: every change a person makes, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from ..extensions import db
from ..models import AuditEntry


def record(actor: str, action: str, target: str | None = None, **data: Any) -> AuditEntry:
    ip = request.remote_addr if has_request_context() else None
    entry = AuditEntry(actor=actor, action=action, target=target, data=data or None, ip=ip)
    db.session.add(entry)
    return entry
