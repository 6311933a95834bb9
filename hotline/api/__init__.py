"""A small JSON API for the response team's actions, with per-user bearer tokens
(`hotline users token USER`), described by /api/openapi.json (hotline/api/openapi.yaml,
docs/api.md).

Every answer under /api/ is JSON, errors included: `{"error": <reason>, "message": …}`,
for the API's own refusals and for what Flask answers before or around a view (an unknown
path 404, a wrong method 405, a body too large 413, an unexpected failure 500:
`init_app`). An argument or body field that does not parse is
`{"error": "bad_argument", "field": …}` with 400 (hotline.staff.forms), never a 500; a
body that is not a JSON object (`[1, 2]`, `"hi"`) is `bad_json`. A call that changes
something is one unit of work (`@one_call`): committed when the view returns, rolled back
with any error."""

from __future__ import annotations

from functools import cache, wraps
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Flask, g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from .. import training
from ..extensions import db
from ..models import Staff, Team, Ticket
from ..staff import access, accounts, audit, claims, forms, outcomes
from ..staff.queue import QueueFilters, queue_page
from ..ticket_rows import ticket_as_dict
from ..tickets import get_by_code
from ..unit_of_work import in_unit_of_work, unit_of_work

bp = Blueprint("api", __name__, url_prefix="/api")

#: A call that changes something is one unit of work; the audit log notes the caller's address.
one_call = in_unit_of_work(client_address=lambda: request.remote_addr)


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, **extra):
        super().__init__(message)
        self.status, self.reason, self.message, self.extra = status, reason, message, extra


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return jsonify({"error": error.reason, "message": error.message, **error.extra}), error.status


@bp.errorhandler(BadRequest)
def bad_request(error: BadRequest):
    body = {"error": "bad_argument", "message": error.description}
    if isinstance(error, forms.BadInput):
        body["field"] = error.field
    return jsonify(body), 400


#: Reasons for the HTTP errors Flask raises itself, by status code.
HTTP_REASONS = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}


def init_app(app: Flask) -> None:
    """Register the blueprint, and answer every error under /api/ in JSON: an unknown path or
    a wrong method never reaches the blueprint, so its own error handlers cannot see them."""
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _http_error_as_json)
    app.register_error_handler(InternalServerError, _http_error_as_json)


def _is_api_request() -> bool:
    return request.path == bp.url_prefix or request.path.startswith(f"{bp.url_prefix}/")


def _http_error_as_json(error: HTTPException):
    """JSON for /api/ paths; any other path gets Flask's own answer, unchanged."""
    if not _is_api_request():
        return error
    code = error.code or 500
    if code >= 500:
        body = {"error": "internal_error", "message": "the server failed; the call changed nothing"}
    else:
        body = {"error": HTTP_REASONS.get(code, "http_error"), "message": error.description or ""}
    response = jsonify(body)
    response.status_code = code
    allowed = getattr(error, "valid_methods", None)
    if code == 405 and allowed:
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


@cache
def openapi_description() -> dict:
    """The API's OpenAPI 3.1 description, kept as YAML next to this module."""
    return yaml.safe_load((Path(__file__).with_name("openapi.yaml")).read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi():
    """The description, public like any API documentation (it holds no data)."""
    return jsonify(openapi_description())


@bp.before_request
def check_arguments() -> None:
    """Arguments with NUL are refused (400), and so is a POST body that is not a JSON object,
    even for calls that read no body: a client sending `[1, 2]` has a bug worth hearing of."""
    forms.check_no_nul(request.args, request.view_args or {})
    if request.method == "POST":
        body()


@bp.errorhandler(access.Forbidden)
def forbidden(error: access.Forbidden):
    return jsonify({"error": "forbidden", "message": str(error)}), 403


@bp.errorhandler(claims.ClaimError)
def claim_error(error: claims.ClaimError):
    status = {"taken": 409, "closed": 409, "not_claimed": 409}.get(
        error.reason, 403 if error.reason in ("not_yours", "not_lead", "wrong_team") else 400
    )
    body: dict[str, Any] = {"error": error.reason, "message": str(error)}
    if error.holder is not None:
        body["holder"] = {"username": error.holder.username, "name": error.holder.name}
    return jsonify(body), status


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        staff = accounts.staff_for_token(token)
        if staff is None:
            raise ApiError(
                401, "unauthorized", "send Authorization: Bearer <token> (hotline users token USER)"
            )
        g.staff = staff
        return view(*args, **kwargs)

    return wrapped


def as_json(ticket: Ticket) -> dict:
    data = ticket_as_dict(ticket)
    data.update(
        team=ticket.team.code if ticket.team else None,
        village=ticket.village.code if ticket.village else None,
        assignee=ticket.assignee.username if ticket.assignee else None,
        attempts=ticket.attempts,
        elderly=ticket.elderly,
        outcome=ticket.outcome,
        due_at=ticket.due_at.isoformat() if ticket.due_at else None,
        next_attempt_at=ticket.next_attempt_at.isoformat() if ticket.next_attempt_at else None,
    )
    return data


def ticket_for(code: str) -> Ticket:
    ticket = get_by_code(code)
    if ticket is None:
        raise ApiError(404, "not_found", f"no request with code {code}")
    if training.is_training(ticket) and training.space_for(g.staff, request.args) != training.TRAINING:
        raise ApiError(404, "not_found", f"no request with code {code}")  # a rehearsal's, not asked for
    access.check_can_see(g.staff, ticket)
    return ticket


def written(ticket: Ticket) -> Ticket:
    """The request as this call wrote it (flushed, reloaded): the domain sets ids, and the
    answer shows the names they point to, before the unit of work commits."""
    db.session.flush()
    db.session.refresh(ticket)
    return ticket


def read_transcripts(tickets: list[Ticket]) -> None:
    """Decree 13: a transcript of a resident's voice given to staff is in the audit log."""
    if tickets:
        with unit_of_work(client_address=request.remote_addr):
            audit.record(g.staff.username, "transcript_read", tickets[0].code if len(tickets) == 1 else None,
                         requests=[t.code for t in tickets], via="api")


def body() -> dict:
    data = request.get_json(silent=True)
    if (data is None and request.content_length) or (data is not None and not isinstance(data, dict)):
        raise ApiError(400, "bad_json", "send a JSON object")
    return data or {}


@bp.get("/tickets")
@token_required
def list_tickets():
    filters = QueueFilters.from_args(request.args)
    filters.space = training.space_for(g.staff, request.args)  # rehearsals: only a trainer asks
    page = queue_page(g.staff, filters)
    read_transcripts([t for t in page.tickets if t.transcript])
    return jsonify(
        {
            "tickets": [dict(as_json(t), urgency=page.urgency.get(t.id, 0)) for t in page.tickets],
            "total": page.total,
            "page": page.page,
            "pages": page.pages,
        }
    )


@bp.get("/tickets/<code>")
@token_required
def show(code: str):
    ticket = ticket_for(code)
    if ticket.transcript:
        read_transcripts([ticket])
    events = [
        {
            "kind": e.kind,
            "message": e.message,
            "actor": e.actor,
            "data": e.data,
            "created_at": e.created_at.isoformat(),
        }
        for e in ticket.events
    ]
    return jsonify(dict(as_json(ticket), events=events))


@bp.post("/tickets/<code>/claim")
@token_required
@one_call
def claim(code: str):
    result = claims.claim(ticket_for(code), g.staff, via="api")
    return jsonify(dict(as_json(result.ticket), already_yours=result.already_yours))


@bp.post("/tickets/<code>/release")
@token_required
@one_call
def release(code: str):
    return jsonify(as_json(written(claims.release(ticket_for(code), g.staff, via="api"))))


@bp.post("/tickets/<code>/notes")
@token_required
@one_call
def notes(code: str):
    ticket = ticket_for(code)
    text = forms.optional_text(body(), "text") or ""
    if not text:
        raise ApiError(400, "empty_note", "`text` is required")
    outcomes.add_note(ticket, g.staff, text, via="api")
    return jsonify(as_json(written(ticket))), 201


@bp.post("/tickets/<code>/outcome")
@token_required
@one_call
def outcome(code: str):
    ticket = ticket_for(code)
    data = body()
    kind, note = data.get("outcome"), forms.optional_text(data, "note")
    if kind == "resolved":
        outcomes.resolve(ticket, g.staff, note, via="api")
    elif kind == "no_answer":
        outcomes.no_answer(ticket, g.staff, note, via="api")
    elif kind == "wrong_number":
        outcomes.wrong_number(ticket, g.staff, note, via="api")
    elif kind == "home_visit":
        try:
            visit_on = forms.optional_date(data, "visit_on")
        except forms.BadInput:
            visit_on = None
        if visit_on is None:
            raise ApiError(400, "bad_date", "`visit_on` must be YYYY-MM-DD")
        username = forms.optional_text(data, "volunteer", max_length=64) or g.staff.username
        volunteer = db.session.scalar(select(Staff).where(Staff.username == username))
        if volunteer is None:
            raise ApiError(400, "unknown_volunteer", f"no staff member {username}")
        outcomes.book_visit(ticket, g.staff, visit_on, volunteer, note, via="api")
    elif kind == "transferred":
        team_code = forms.optional_text(data, "team", max_length=40)
        team = db.session.scalar(select(Team).where(Team.code == team_code)) if team_code else None
        if team is None:
            raise ApiError(400, "unknown_team", "`team` must be a team code")
        outcomes.transfer(ticket, g.staff, team, note, via="api")
    else:
        raise ApiError(
            400,
            "bad_outcome",
            "`outcome` must be resolved, no_answer, wrong_number, home_visit or transferred",
        )
    return jsonify(as_json(written(ticket)))
