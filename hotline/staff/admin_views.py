"""The admin's settings pages for people and places: add a staff account, set a new
password, unlock an account locked by failed logins, add a team or a village — from the
dashboard, without a CSV file or the command line.

A blueprint of its own (`/staff/admin/…`), thin over hotline.staff.org_admin and
hotline.staff.accounts; the dashboard's error pages, security headers and `no-store`
apply to it as to the rest of the dashboard (hotline.staff.init_app).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import BadRequest

from ..extensions import db
from ..models import Role, Staff, Team, Village
from . import access, accounts, forms, org_admin
from .views import admin_required, bad_request, csrf_failed, forbidden, one_action

bp = Blueprint("staff_admin", __name__, url_prefix="/staff/admin")
bp.register_error_handler(CSRFError, csrf_failed)
bp.register_error_handler(BadRequest, bad_request)
bp.register_error_handler(access.Forbidden, forbidden)

#: What the admin reads for each reason org_admin refuses an input.
REFUSALS = {
    "bad_username": _l("A username is 2 to 64 lowercase letters, digits, dots, dashes or underscores."),
    "username_taken": _l("This username is already used."),
    "empty": _l("The name is empty."),
    "bad_role": _l("Choose a role."),
    "bad_phone": _l("This is not a phone number."),
    "phone_taken": _l("Another account already has this phone number."),
    "short_password": _l("A password needs at least 8 characters."),
    "bad_code": _l("A code is letters, digits, dots, dashes or underscores, without spaces (T01, V07)."),
    "code_taken": _l("This code is already used."),
}


def _refused(refused: org_admin.Refused) -> None:
    flash(str(REFUSALS.get(refused.reason, refused.reason)), "error")


def _team_from(form) -> Team | None:
    team_id = forms.optional_id(form, "team_id")
    team = db.session.get(Team, team_id) if team_id else None
    if team_id and team is None:
        raise forms.BadInput("team_id", "a team")
    return team


# --- accounts --------------------------------------------------------------------------


@bp.get("/accounts")
@admin_required
def accounts_page():
    return _accounts_page({})


def _accounts_page(form, status: int = 200):
    """The page; after a refused form, with what the admin typed (never the password)."""
    return render_template(
        "staff/admin_users.html",
        people=db.session.scalars(select(Staff).order_by(Staff.username)).all(),
        teams=db.session.scalars(select(Team).order_by(Team.name)).all(),
        locked=set(accounts.locked_usernames()),
        roles=list(Role),
        form={k: v for k, v in form.items() if k != "password"},
    ), status


@bp.post("/accounts")
@admin_required
@one_action
def create_account():
    form = request.form
    try:
        staff = org_admin.add_account(
            username=forms.optional_text(form, "username", max_length=64) or "",
            name=forms.optional_text(form, "name", max_length=120) or "",
            role=forms.choice(form, "role", tuple(Role), Role.VOLUNTEER),
            team=_team_from(form),
            phone=forms.optional_text(form, "phone", max_length=40) or "",
            password=form.get("password", ""),
            actor=current_user.username,
        )
    except org_admin.Refused as refused:
        _refused(refused)
        return _accounts_page(form, 400)
    flash(_("Account %(username)s created: give them their password.", username=staff.username), "ok")
    return redirect(url_for("staff_admin.accounts_page"))


def _person(staff_id: int) -> Staff:
    person = db.session.get(Staff, staff_id)
    if person is None:
        raise forms.BadInput("staff_id", "a staff member")
    return person


@bp.post("/accounts/<int(max=2147483647):staff_id>/password")
@admin_required
@one_action
def set_password(staff_id: int):
    person = _person(staff_id)
    try:
        org_admin.reset_password(person, request.form.get("password", ""), actor=current_user.username)
    except org_admin.Refused as refused:
        _refused(refused)
        return redirect(url_for("staff_admin.accounts_page"))
    flash(_("New password set for %(username)s; their other sessions have ended.", username=person.username),
          "ok")
    return redirect(url_for("staff_admin.accounts_page"))


@bp.post("/accounts/<int(max=2147483647):staff_id>/unlock")
@admin_required
@one_action
def unlock(staff_id: int):
    person = _person(staff_id)
    accounts.unlock(person.username, actor=current_user.username)
    flash(_("%(username)s can log in again.", username=person.username), "ok")
    return redirect(url_for("staff_admin.accounts_page"))


# --- teams and villages ---------------------------------------------------------------


@bp.get("/places")
@admin_required
def places_page():
    return _places_page({})


def _places_page(form, status: int = 200):
    return render_template(
        "staff/admin_places.html",
        teams=db.session.scalars(select(Team).order_by(Team.code)).all(),
        villages=db.session.scalars(select(Village).order_by(Village.code)).all(),
        form=form,
    ), status


@bp.post("/teams")
@admin_required
@one_action
def add_team():
    form = request.form
    try:
        team = org_admin.add_team(
            code=forms.optional_text(form, "code", max_length=40) or "",
            name=forms.optional_text(form, "name", max_length=120) or "",
            actor=current_user.username,
        )
    except org_admin.Refused as refused:
        _refused(refused)
        return _places_page({"team_code": form.get("code", ""), "team_name": form.get("name", "")}, 400)
    flash(_("Team %(name)s added.", name=team.name), "ok")
    return redirect(url_for("staff_admin.places_page"))


@bp.post("/villages")
@admin_required
@one_action
def add_village():
    form = request.form
    try:
        village = org_admin.add_village(
            code=forms.optional_text(form, "code", max_length=40) or "",
            name=forms.optional_text(form, "name", max_length=120) or "",
            team=_team_from(form),
            actor=current_user.username,
        )
    except org_admin.Refused as refused:
        _refused(refused)
        return _places_page({"village_code": form.get("code", ""), "village_name": form.get("name", ""),
                             "village_team": form.get("team_id", "")}, 400)
    flash(_("Village %(name)s added.", name=village.name), "ok")
    return redirect(url_for("staff_admin.places_page"))
