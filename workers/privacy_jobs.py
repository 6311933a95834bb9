"""The nightly jobs on residents' data (hotline/nightly.py): the retention pass and the backup.
Each schedules the next night's row before it ends, in its own unit of work."""

from __future__ import annotations

import logging

from flask import current_app

from hotline import jobs
from hotline.unit_of_work import in_unit_of_work

log = logging.getLogger(__name__)


@jobs.apply_retention.implementation
@in_unit_of_work(release_session=True)
def apply_retention(night: str) -> dict:
    """Remove what the retention periods say is due (idempotent), then schedule tomorrow's."""
    from hotline import nightly, retention

    report = retention.apply()
    nightly.schedule(jobs.apply_retention)
    return report.as_dict()


@jobs.nightly_backup.implementation
def nightly_backup(night: str) -> str:
    """Back up into BACKUP_DIR and keep the newest BACKUP_KEEP; a failed backup raises (RQ
    retries, /healthz shows the age of the last good one). Then tomorrow's row."""
    from pathlib import Path

    from hotline import backup, nightly
    from hotline.extensions import db
    from hotline.unit_of_work import unit_of_work

    config = current_app.config
    target = Path(config["BACKUP_DIR"] or Path(config["DATA_DIR"]) / "backups")
    try:
        made = backup.make_backup(config, db.engine, target)
        backup.prune(target, int(config["BACKUP_KEEP"]))
    finally:
        with unit_of_work():
            nightly.schedule(jobs.nightly_backup)
        db.session.remove()
    return made.path.name
