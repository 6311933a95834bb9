"""outbox.run_at: work for later waits in the database, not in RQ's scheduler

Rows of the old two-step scheduling (`workers.staff_jobs.schedule_at`, whose job handed
the real job to RQ's scheduler) that have not finished are rewritten as the job itself
with `run_at`: the relay then enqueues it when due. One already relayed is made pending
again; should its old hop have run meanwhile, the job is idempotent (timeline keys,
attempt numbers) and runs once more at most. Rows that finished stay as they were (their
jobs live in RQ's scheduled registry and still run: the worker maps the old dotted names).

Downgrading writes future rows back as `schedule_at` rows, so the old code does not run
them at once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00.000000

"""
import re
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

SCHEDULE_AT = "workers.staff_jobs.schedule_at"
RQ_SAFE = re.compile(r"[A-Za-z0-9_-]{1,100}")
#: hotline.jobs names → the dotted paths the old code ran (frozen here, as of this revision).
FORMER = {
    "send_request_confirmation": "workers.jobs.send_request_confirmation",
    "send_outbound_sms": "workers.sms.send_sms",
    "send_ticket_sms": "workers.staff_jobs.send_sms",
    "return_to_queue": "workers.staff_jobs.return_to_queue",
    "visit_reminder": "workers.staff_jobs.visit_reminder",
    "notify_volunteer": "workers.staff_jobs.notify_volunteer",
    "place_callback": "workers.staff_jobs.place_callback",
    "transcribe_voice_message": "workers.asr.transcribe_voice_message",
}

outbox = sa.table(
    'outbox',
    sa.column('id', sa.Integer),
    sa.column('job_id', sa.String),
    sa.column('func', sa.String),
    sa.column('args', sa.JSON),
    sa.column('relayed_at', sa.DateTime(timezone=True)),
    sa.column('finished_at', sa.DateTime(timezone=True)),
    sa.column('failed_at', sa.DateTime(timezone=True)),
    sa.column('run_at', sa.DateTime(timezone=True)),
)


def _utc(moment):
    """As the app stores it: UTC (SQLite keeps no zone, so it must be UTC before it is written)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_at', sa.DateTime(timezone=True), nullable=True))

    connection = op.get_bind()
    taken = {job_id for (job_id,) in connection.execute(sa.select(outbox.c.job_id))}
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.job_id, outbox.c.args, outbox.c.relayed_at, outbox.c.failed_at)
        .where(outbox.c.func == SCHEDULE_AT, outbox.c.finished_at.is_(None))
    ).all()
    for row_id, job_id, args, relayed_at, failed_at in rows:
        if not isinstance(args, list) or len(args) < 3:
            continue  # not what schedule_at wrote: left for a person (`hotline outbox`)
        when, inner_id, func, *rest = args
        values = {"func": func, "args": rest, "run_at": _utc(datetime.fromisoformat(when))}
        if isinstance(inner_id, str) and RQ_SAFE.fullmatch(inner_id) and inner_id not in taken:
            values["job_id"] = inner_id  # the id new code gives the same work (`retry-12-1`)
            taken.add(inner_id)
        if relayed_at is not None and failed_at is None:
            values["relayed_at"] = None  # in Redis only as the old hop: the relay takes it when due
        connection.execute(outbox.update().where(outbox.c.id == row_id).values(**values))


def downgrade():
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.job_id, outbox.c.func, outbox.c.args, outbox.c.run_at)
        .where(outbox.c.run_at.is_not(None), outbox.c.relayed_at.is_(None))
    ).all()
    for row_id, job_id, func, args, run_at in rows:
        connection.execute(outbox.update().where(outbox.c.id == row_id).values(
            job_id=f"schedule-{job_id}"[:120],
            func=SCHEDULE_AT,
            args=[_utc(run_at).isoformat(), job_id, FORMER.get(func, func), *(args or [])],
        ))

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('run_at')
