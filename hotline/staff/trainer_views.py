"""`/staff/training`: the trainer's page (leads and admins). Each rehearsal of the practice
phone with its trainee, scenario, requests and checklist, ticked from the requests' timelines
(hotline.training_progress); a filter by trainee; and the button that wipes the training
space, as `hotline training reset` does (hotline.training_reset), audited.

Thin views on the dashboard's blueprint: its login, CSRF protection and error pages."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import training, training_progress, training_reset, training_scenarios
from . import forms
from .views import bp, one_action, roles_required

#: The most rehearsals the page lists (the newest); a filter by trainee shows one person's.
PAGE_RUNS = 100


#: Team leads and admins: they run the training sessions.
trainers_only = roles_required(*training.TRAINER_ROLES)


@bp.get("/training")
@trainers_only
def training_page():
    trainee = forms.optional_text(request.args, "trainee", max_length=64)
    scenarios = training_scenarios.loaded()
    runs = training_progress.runs_progress(training_progress.recent_runs(trainee, PAGE_RUNS), scenarios)
    return render_template("staff/training.html", runs=runs, scenarios=scenarios, trainee=trainee,
                           trainees=training_progress.trainees(), size=training_reset.space_size(),
                           limit=PAGE_RUNS)


@bp.post("/training/reset")
@trainers_only
@one_action
def training_reset_now():
    """The wipe button; the page's checkbox is its confirmation."""
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm, then press the button again."), "error")
        return redirect(url_for("staff.training_page"))
    wiped = training_reset.reset(current_user.username, current_app.config["DATA_DIR"])
    flash(_("The training space is wiped: %(rehearsals)d rehearsals, %(tickets)d requests, %(texts)d text "
            "messages, %(calls)d calls, %(visits)d home visits and %(recordings)d recordings removed.",
            rehearsals=wiped.rehearsals, tickets=wiped.tickets, texts=wiped.texts, calls=wiped.calls,
            visits=wiped.visits, recordings=wiped.recordings), "ok")
    return redirect(url_for("staff.training_page"))
