"""The dashboard's page on residents' data (admins): the retention periods in force, the last
good backup and its age, and the button that exports everything held about one number
(the same zip as `hotline residents export`, audited the same way). Erasing stays a command
(`hotline residents erase`): it cannot be undone, so it is not one click away."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import backup, resident_data
from ..unit_of_work import unit_of_work
from . import forms
from .views import admin_required

bp = Blueprint("privacy", __name__, url_prefix="/staff/privacy")


@bp.get("")
@admin_required
def page():
    config = current_app.config
    last = backup.last_backup(config["DATA_DIR"])
    return render_template(
        "staff/privacy.html",
        recordings_days=config["RETENTION_RECORDINGS_DAYS"],
        texts_days=config["RETENTION_TEXTS_DAYS"],
        audit_days=config["RETENTION_AUDIT_DAYS"],
        backup_keep=config["BACKUP_KEEP"],
        last_backup=last,
        backup_age_hours=backup.backup_age_hours(config["DATA_DIR"]),
        backup_stale=last is None
        or backup.backup_age_hours(config["DATA_DIR"]) > config["BACKUP_MAX_AGE_HOURS"],
        backup_name=Path(last["path"]).name if last else None,
    )


@bp.post("/export")
@admin_required
def export():
    phone = forms.optional_text(request.form, "phone", max_length=40) or ""
    try:
        with unit_of_work(client_address=request.remote_addr):
            name, archive = resident_data.export(phone, actor=current_user.username)
    except resident_data.NotAPhoneNumber:
        flash(_("Not a phone number: %(value)s", value=phone), "error")
        return redirect(url_for("privacy.page"))
    response = Response(
        archive, mimetype="application/zip", headers={"Content-Disposition": f"attachment; filename={name}"}
    )
    response.cache_control.no_store = True
    return response
