"""The dashboard's pages: thin views over hotline.staff's domain modules.

Every form post that changes something is one unit of work (`@one_action`): the view's
domain calls commit together when it returns, or not at all, with the client's address
on the audit rows."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import BadRequest

from .. import clock, office_hours, outbox, training
from ..extensions import db
from ..messaging import twilio_client
from ..models import (
    AuditEntry,
    HomeVisit,
    Role,
    Staff,
    Team,
    Ticket,
    Transcription,
    Village,
    VoiceMessage,
)
from ..tickets import get_by_code
from ..unit_of_work import in_unit_of_work, unit_of_work
from . import access, accounts, audit, claims, display, forms, headers, outcomes, refresh, reports, timeline
from .labels import label
from .languages import LANGUAGES
from .queue import STATUS_FILTERS, QueueFilters, queue_page, topics

bp = Blueprint("staff", __name__, url_prefix="/staff")

CSRF_FIELD = re.compile(r'name="csrf_token" value="[^"]*"')

#: The outcomes a person records on the request page.
WEB_OUTCOMES = ("resolved", "no_answer", "wrong_number", "home_visit", "transferred")

#: A form post is one unit of work; the audit log notes the address it came from.
one_action = in_unit_of_work(client_address=lambda: request.remote_addr)


@bp.before_request
def refuse_nul() -> None:
    """Arguments holding NUL are refused: PostgreSQL cannot compare them (400, not 500).
    Every form post has already shown the session's CSRF token (Flask-WTF's CSRFProtect,
    bound in create_app; a header for fetch() calls)."""
    forms.check_no_nul(request.args, request.view_args or {})
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        forms.check_no_nul(request.form)


@bp.app_context_processor
def template_globals() -> dict:
    return {"Role": Role, "languages": LANGUAGES, "label": label}


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """CSRFProtect's refusal (no token, a stale one, another site's page), in the person's
    language. When the session cookie itself did not come back, the browser did not keep it:
    say so, and why when it can be told (a cookie forced Secure on a plain-HTTP page)."""
    if error.description == "The CSRF session token is missing.":
        if not request.is_secure and headers.cookie_secure_forced():
            message = _(
                "This dashboard keeps its login cookie only over HTTPS, but this page was opened "
                "over plain HTTP, so the browser did not keep it. Open the dashboard with https://, "
                "or ask the administrator to set HOTLINE_SESSION_COOKIE_SECURE=auto."
            )
        else:
            message = _(
                "Your browser did not keep this site's cookie, so the form cannot be checked. "
                "Allow cookies for this address, always open the dashboard by the same address, "
                "then reload the page."
            )
        return render_template("staff/error.html", message=message), 400
    return render_template(
        "staff/error.html", message=_("The form expired. Reload the page and try again.")
    ), 400


@bp.errorhandler(BadRequest)
def bad_request(error: BadRequest):
    """A form field or query argument that does not parse (hotline.staff.forms)."""
    return render_template(
        "staff/error.html", message=_("Something in the form or the page address is not valid.")
    ), 400


def login_needed():
    """Flask-Login's answer to a request without a (live) session: the login page, with a
    message in the person's language; a 401 to the queue's fetch() refresh, which then
    reloads the page instead of showing the login form inside the table."""
    if request.headers.get("X-Requested-With") == "fetch":
        return {"error": "unauthorized", "message": _("Your session has ended. Log in again.")}, 401
    flash(_("Log in to see this page."), "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("staff.login", next=target))


@bp.errorhandler(access.Forbidden)
def forbidden(error: access.Forbidden):
    return render_template("staff/error.html", message=_("This request belongs to another team.")), 403


@bp.errorhandler(404)
def not_found(error):
    """A request code that does not exist (or an old link), in the person's language."""
    return render_template("staff/error.html", message=_("Nothing is at this address.")), 404


@bp.errorhandler(403)
def not_allowed(error):
    return render_template("staff/error.html", message=_("Only an administrator can open this page.")), 403


def roles_required(*roles: str):
    """A view for logged-in staff of these roles only (403 for the others)."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


admin_required = roles_required(Role.ADMIN)


def ticket_or_404(code: str) -> Ticket:
    ticket = get_by_code(code)
    if ticket is None:
        abort(404)
    access.check_can_see(current_user, ticket)
    return ticket


@bp.get("/t/<code>/voice/<int(max=2147483647):message_id>")
@login_required
def voice_audio(code: str, message_id: int):
    """The stored recording, for staff who may see the request (Twilio's URL needs its login)."""
    ticket = ticket_or_404(code)
    row = db.session.scalar(
        select(Transcription).where(
            Transcription.voice_message_id == message_id, Transcription.ticket_id == ticket.id
        )
    )
    if row is None or not row.audio_path:
        abort(404)
    with unit_of_work(client_address=request.remote_addr):  # Decree 13: who heard a resident's voice
        audit.record(current_user.username, "recording_played", ticket.code, voice_message=message_id)
    response = send_from_directory(current_app.config["DATA_DIR"], row.audio_path, max_age=3600)
    response.cache_control.public = False  # a resident's voice: this browser only, no proxy
    response.cache_control.private = True
    return response


# --- accounts ------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        username, address = request.form.get("username", ""), request.remote_addr
        try:
            with unit_of_work(client_address=address):
                staff = accounts.authenticate(username, request.form.get("password", ""), address)
        except accounts.LoginRefused as refused:
            if not refused.throttled:  # the login failed, yet the failure counts: a unit of its own
                with unit_of_work(client_address=address):
                    accounts.record_failed_login(username, address)
            if refused.locked == "account":
                message = _(
                    "This account is locked after too many wrong passwords. Wait %(minutes)s minutes, "
                    "or ask an administrator to unlock it.",
                    minutes=current_app.config["STAFF_LOGIN_WINDOW_MINUTES"],
                )
            elif refused.throttled:
                message = _("Too many failed attempts. Wait a few minutes and try again.")
            else:
                message = _("Wrong username or password.")
            return render_template("staff/login.html", error=message), 429 if refused.throttled else 401
        session.clear()
        login_user(staff)
        return redirect(_local_target(request.args.get("next", "")) or url_for("staff.queue"))
    return render_template("staff/login.html")


@bp.post("/logout")
@login_required
def logout():
    """Ends this session and every other one of this person: their cookies, even copied, stop
    working (hotline.staff.accounts)."""
    with unit_of_work(client_address=request.remote_addr):
        accounts.end_sessions(current_user)
        audit.record(current_user.username, "logout")
    logout_user()
    lang = session.get("lang")
    session.clear()  # a new CSRF token too; the language choice stays with the browser
    if lang:
        session["lang"] = lang
    return redirect(url_for("staff.login"))


def _local_target(url: str) -> str | None:
    """A dashboard path on this site from `url` (a `next` argument, a Referer), else None:
    never a redirect to another site."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != request.host):
        return None
    if not parts.path.startswith("/staff/") or "\\" in url or any(ord(c) < 32 for c in url):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.post("/lang")
def set_language():
    lang = forms.choice(request.form, "lang", LANGUAGES, None)
    if lang:
        session["lang"] = lang
    return redirect(_local_target(request.referrer or "") or url_for("staff.queue"))


# --- the queue -----------------------------------------------------------------------


@bp.get("/")
@login_required
def queue():
    filters = QueueFilters.from_args(request.args)
    page = queue_page(current_user, filters)
    context = dict(
        page=page,
        filters=filters,
        status_filters=STATUS_FILTERS,
        refresh=current_app.config["STAFF_QUEUE_REFRESH_SECONDS"],
    )
    rows_html = render_template("staff/_queue_rows.html", **context)
    rows = refresh.cut(rows_html)
    if request.args.get("partial"):
        if "have" in request.args:  # the page's script: only the rows it lacks
            return _only_what_changed(rows, refresh.parse_have(request.args["have"]), page.now)
        return _unless_unchanged(rows_html)
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    villages = db.session.scalars(select(Village).order_by(Village.name)).all()
    if current_user.role != Role.ADMIN:
        teams = [t for t in teams if t.id == current_user.team_id]
        villages = [v for v in villages if v.team_id == current_user.team_id]
    stuck = outbox.summary() if current_user.role in (Role.ADMIN, Role.LEAD) else None  # set-aside jobs
    # "Time left" is computed by the page's script every minute, in the reader's language.
    time_left = {"left": _("%(hours)s h %(minutes)s min"), "late": _("%(hours)s h late")}
    return render_template("staff/queue.html", teams=teams, villages=villages, topics=topics(), stuck=stuck,
                           rows_html=rows_html, rows_etag=rows.etag, time_left=time_left, **context)


def _only_what_changed(rows: refresh.Rows, have: dict[str, str], now: datetime) -> Response:
    """The script's refresh (hotline.staff.refresh): 304 with no body when the browser shows
    this state already (its If-None-Match), else JSON with the row order and only the rows
    it lacks or has in another version."""
    answer = {**rows.answer(have), "now": int(now.timestamp())}
    # UTF-8 as is: Vietnamese escaped as \uXXXX would weigh twice as much on the link.
    body = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    response = Response(body, mimetype="application/json")
    response.set_etag(rows.etag)
    response.make_conditional(request)
    return response


def _unless_unchanged(html: str) -> Response:
    """The queue's refresh: 304 with no body when the rows are what the browser shows
    (its If-None-Match), so a slow link carries only what changed. The ETag is the hash of
    the rendered rows (which the person and the language shape) less their CSRF tokens,
    which Flask-WTF signs afresh every second; the browser's older tokens stay valid."""
    response = Response(html, mimetype="text/html")
    seen = CSRF_FIELD.sub("", html)
    response.set_etag(hashlib.sha256(seen.encode()).hexdigest()[:32])
    response.make_conditional(request)  # turns itself into the 304 when the tags match
    return response


@bp.post("/claim-next")
@login_required
@one_action
def claim_next():
    space = forms.choice(request.form, "space", training.SPACES, training.REAL)
    ticket = claims.claim_next(current_user, space)
    if ticket is None:
        flash(_("No unclaimed request is waiting."), "info")
        return redirect(url_for("staff.queue", **({"space": space} if space == training.TRAINING else {})))
    flash(_("You claimed request %(code)s.", code=ticket.code), "ok")
    return redirect(url_for("staff.ticket", code=ticket.code))


# --- one request ---------------------------------------------------------------------


@bp.get("/t/<code>")
@login_required
def ticket(code: str):
    ticket = ticket_or_404(code)
    voice_messages = db.session.scalars(
        select(VoiceMessage).where(VoiceMessage.ticket_id == ticket.id).order_by(VoiceMessage.id)
    ).all()
    transcriptions = {
        row.voice_message_id: row
        for row in db.session.scalars(select(Transcription).where(Transcription.ticket_id == ticket.id))
    }
    visits = db.session.scalars(
        select(HomeVisit).where(HomeVisit.ticket_id == ticket.id).order_by(HomeVisit.id)
    ).all()
    shown = [m.id for m in voice_messages if m.id in transcriptions and transcriptions[m.id].text]
    if shown or ticket.transcript:  # Decree 13: who read a transcript of a resident's voice
        with unit_of_work(client_address=request.remote_addr):
            audit.record(current_user.username, "transcript_read", ticket.code, voice_messages=shown)
    teammates = db.session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.name)).all()
    teammates = [s for s in teammates if access.can_see(s, ticket)]
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    villages = db.session.scalars(select(Village).order_by(Village.name)).all()
    today = clock.today(ZoneInfo(current_app.config["TIMEZONE"]))
    return render_template(
        "staff/ticket.html",
        ticket=ticket,
        voice_messages=voice_messages,
        transcriptions=transcriptions,
        visits=visits,
        teammates=teammates,
        teams=teams,
        villages=villages,
        today=today,
        tomorrow=today + timedelta(days=1),  # the visit date a tap books; any other is typed
        lines=timeline.entries(ticket.events),
        # A rehearsal's callback goes through the hotline's (simulated) path: never a tel: link.
        dial_by_hand=not training.is_training(ticket) and (twilio_client() is None or not current_user.phone),
        rehearsal=training.is_training(ticket),
        # Release, call back and record an outcome: offered only to whoever may do them.
        may_work=ticket.assignee_id == current_user.id or access.can_assign(current_user),
    )


def _back(ticket: Ticket):
    return redirect(url_for("staff.ticket", code=ticket.code))


def _claim_error(error: claims.ClaimError) -> str:
    messages = {
        "taken": _("Already claimed by %(name)s.", name=error.holder.name if error.holder else "?"),
        "closed": _("This request is closed."),
        "not_yours": _("Claim the request first (or ask a team lead)."),
        "not_claimed": _("Nobody has claimed this request."),
        "not_lead": _("Only a team lead or an admin can do that."),
        "wrong_team": _("That person cannot work this request."),
        "bad_date": _("The visit date is in the past: choose today or a later day."),
        "no_number": _("The resident's number is unknown."),
    }
    return messages.get(error.reason, str(error))


@bp.post("/t/<code>/claim")
@login_required
@one_action
def claim(code: str):
    ticket = ticket_or_404(code)
    try:
        result = claims.claim(ticket, current_user)
        flash(_("You claimed request %(code)s.", code=ticket.code), "ok")
        ticket = result.ticket
    except claims.ClaimError as error:
        flash(_claim_error(error), "error")
        if request.headers.get("X-Requested-With") == "fetch":
            return {"ok": False, "reason": error.reason, "message": _claim_error(error)}, 409
    return _back(ticket)


@bp.post("/t/<code>/release")
@login_required
@one_action
def release(code: str):
    ticket = ticket_or_404(code)
    try:
        claims.release(ticket, current_user)
        flash(_("Request released back to the queue."), "ok")
    except claims.ClaimError as error:
        flash(_claim_error(error), "error")
    return _back(ticket)


@bp.post("/t/<code>/reassign")
@login_required
@one_action
def reassign(code: str):
    ticket = ticket_or_404(code)
    to_id = forms.optional_id(request.form, "staff_id")
    to = db.session.get(Staff, to_id) if to_id else None
    if to is None:
        flash(_("Choose a person."), "error")
        return _back(ticket)
    try:
        claims.reassign(ticket, current_user, to)
        flash(_("Assigned to %(name)s.", name=to.name), "ok")
    except claims.ClaimError as error:
        flash(_claim_error(error), "error")
    return _back(ticket)


@bp.post("/t/<code>/outcome")
@login_required
@one_action
def outcome(code: str):
    ticket = ticket_or_404(code)
    kind = forms.choice(request.form, "outcome", WEB_OUTCOMES, "")
    note = forms.optional_text(request.form, "note")
    try:
        if kind == "resolved":
            outcomes.resolve(ticket, current_user, note)
        elif kind == "no_answer":
            outcomes.no_answer(ticket, current_user, note)
        elif kind == "wrong_number":
            outcomes.wrong_number(ticket, current_user, note)
        elif kind == "home_visit":
            try:
                visit_on = forms.optional_date(request.form, "visit_on")
            except forms.BadInput:
                visit_on = None
            if visit_on is None:
                flash(_("Choose the visit date."), "error")
                return _back(ticket)
            volunteer_id = forms.optional_id(request.form, "volunteer_id") or current_user.id
            volunteer = db.session.get(Staff, volunteer_id)
            if volunteer is None:
                abort(400)
            outcomes.book_visit(ticket, current_user, visit_on, volunteer, note)
        elif kind == "transferred":
            team_id = forms.optional_id(request.form, "team_id")
            team = db.session.get(Team, team_id) if team_id else None
            if team is None:
                flash(_("Choose a team."), "error")
                return _back(ticket)
            outcomes.transfer(ticket, current_user, team, note)
        else:
            flash(_("Choose an outcome."), "error")
            return _back(ticket)
        flash(_("Outcome recorded."), "ok")
    except claims.ClaimError as error:
        flash(_claim_error(error), "error")
    if kind == "transferred" and not access.can_see(current_user, ticket):
        return redirect(url_for("staff.queue"))
    return _back(ticket)


@bp.post("/t/<code>/note")
@login_required
@one_action
def note(code: str):
    ticket = ticket_or_404(code)
    try:
        outcomes.add_note(ticket, current_user, request.form.get("text", ""))
        flash(_("Note saved."), "ok")
    except ValueError:
        flash(_("The note is empty."), "error")
    return _back(ticket)


@bp.post("/t/<code>/village")
@login_required
@one_action
def set_village(code: str):
    ticket = ticket_or_404(code)
    village_id = forms.optional_id(request.form, "village_id")
    village = db.session.get(Village, village_id) if village_id else None
    if village is None:
        flash(_("Choose a village."), "error")
        return _back(ticket)
    outcomes.set_village(ticket, current_user, village)
    if not access.can_see(current_user, ticket):
        flash(_("Request routed to %(team)s.", team=ticket.team.name if ticket.team else "?"), "ok")
        return redirect(url_for("staff.queue"))
    flash(_("Village saved: %(village)s.", village=village.name), "ok")
    return _back(ticket)


@bp.post("/t/<code>/elderly")
@login_required
@one_action
def set_elderly(code: str):
    ticket = ticket_or_404(code)
    elderly = request.form.get("elderly") == "1"
    outcomes.set_elderly(ticket, current_user, elderly)
    flash(_("Saved: marked as elderly.") if elderly else _("Saved: no longer marked as elderly."), "ok")
    return _back(ticket)


@bp.post("/t/<code>/callback")
@login_required
@one_action
def callback(code: str):
    ticket = ticket_or_404(code)
    try:
        result = outcomes.start_callback(ticket, current_user)
    except claims.ClaimError as error:
        flash(_claim_error(error), "error")
        return _back(ticket)
    if result["mode"] == "manual":
        flash(_("Dial %(number)s by hand.", number=display.phone(result["dial"])), "dial")
    elif result["mode"] == "training":
        flash(_("Training: the hotline would now ring your phone, then the resident. No call was made."),
              "ok")
    else:
        flash(
            _(
                "The hotline is calling your phone %(phone)s; pick up to be connected.",
                phone=result["staff_phone"],
            ),
            "ok",
        )
    return _back(ticket)


# --- reports -------------------------------------------------------------------------


@bp.get("/reports")
@login_required
def report_page():
    params = reports.ReportParams.from_args(request.args, current_user)
    report = reports.build(params)
    return render_template(
        "staff/reports.html",
        report=report,
        params=params,
        chart=reports.bar_chart_svg(report),
        group_name=reports.group_name,
    )


@bp.get("/reports.csv")
@login_required
def report_csv():
    params = reports.ReportParams.from_args(request.args, current_user)
    body = reports.as_csv(reports.build(params))
    name = f"hotline-report-{params.start:%Y%m%d}-{params.end:%Y%m%d}-{params.by}-{params.period}.csv"
    return Response(
        body.encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


# --- settings (admins) ---------------------------------------------------------------


@bp.get("/admin")
@admin_required
def admin():
    from .importer import COLUMNS

    entries = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(50)))
    return render_template(
        "staff/admin.html",
        teams=db.session.scalars(select(Team).order_by(Team.name)).all(),
        villages=db.session.scalars(select(Village).order_by(Village.name)).all(),
        people=db.session.scalars(select(Staff).order_by(Staff.username)).all(),
        audit_entries=entries,
        audit_lines=audit.describe(entries),
        import_kinds=list(COLUMNS),
        chosen_kind=request.args.get("kind") if request.args.get("kind") in COLUMNS else None,
        office=office_summary(),
    )


def office_summary() -> dict:
    """The hours, coming holidays and address the voice menu and the SMS reply read (one source,
    hotline.office_hours), as the settings page shows them."""
    week = office_hours.weekly_hours()
    days = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
    return {
        "hours": office_hours.describe_week(week, [str(day) for day in days]) if week else None,
        "holidays": office_hours.coming_holidays(clock.now()),
        "address": office_hours.current().address,
    }


@bp.post("/admin/import")
@admin_required
@one_action
def admin_import():
    """The same all-or-nothing CSV import as `hotline import`, from the browser."""
    from .importer import COLUMNS, ImportFailed, import_csv

    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    # After a refusal the page comes back with the same kind chosen, so the admin only picks the file again.
    kept = {"kind": kind} if kind in COLUMNS else {}
    again = redirect(url_for("staff.admin", **kept) + "#import-form")
    if kind not in COLUMNS:
        flash(_("Choose what to import."), "error")
        return again
    if upload is None or not upload.filename:
        flash(_("Nothing was sent: choose a CSV file, then press Import."), "error")
        return again
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # not text (and PostgreSQL would refuse it)
        flash(_("The file is not UTF-8 text (save it as CSV UTF-8)."), "error")
        return again
    if not text.strip():
        flash(_("The file is empty: nothing imported."), "error")
        return again
    try:
        count = import_csv(text, kind, actor=current_user.username)
    except ImportFailed as failed:
        flash(_("Nothing imported: %(count)s bad row(s).", count=len(failed.errors)), "error")
        for error in failed.errors[:50]:
            flash(error.describe(), "error")
        return again
    if count == 0:
        flash(_("The file has its header but no rows: nothing imported."), "error")
        return again
    flash(_("Imported %(count)s row(s).", count=count), "ok")
    return redirect(url_for("staff.admin"))


@bp.post("/admin/village/<int(max=2147483647):village_id>")
@admin_required
@one_action
def admin_village(village_id: int):
    village = db.session.get(Village, village_id) or abort(404)
    team_id = forms.optional_id(request.form, "team_id")
    team = db.session.get(Team, team_id) if team_id else None
    if team_id and team is None:
        abort(400)
    village.team_id = team.id if team else None
    audit.record(current_user.username, "village_team", village.code, team=team.code if team else None)
    flash(_("Saved."), "ok")
    return redirect(url_for("staff.admin"))


@bp.post("/admin/staff/<int(max=2147483647):staff_id>")
@admin_required
@one_action
def admin_staff(staff_id: int):
    from ..phones import to_e164

    person = db.session.get(Staff, staff_id) or abort(404)
    role = forms.choice(request.form, "role", tuple(Role), person.role)
    team_id = forms.optional_id(request.form, "team_id")
    team = db.session.get(Team, team_id) if team_id else None
    if team_id and team is None:
        abort(400)
    phone_raw = forms.optional_text(request.form, "phone", max_length=40) or ""
    phone = to_e164(phone_raw) if phone_raw else None
    if phone_raw and phone is None:
        flash(_("Not a phone number: %(value)s", value=phone_raw), "error")
        return redirect(url_for("staff.admin"))
    changes = {
        "role": role,
        "team": team.code if team else None,
        "phone": phone,
        "active": request.form.get("active") == "1",
    }
    person.role, person.team_id, person.phone = role, team.id if team else None, phone
    person.active = request.form.get("active") == "1"
    audit.record(current_user.username, "staff_changed", person.username, **changes)
    flash(_("Saved."), "ok")
    return redirect(url_for("staff.admin"))
