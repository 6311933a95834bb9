"""outbox: rows set aside with their reason, and when a job finished or failed for good

Rows relayed before this revision are taken as finished (at their relay time): their
RQ jobs are long gone from Redis, and without this the first reconcile pass would
enqueue every historic job again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('set_aside_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('set_aside_reason', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_finished_at'), ['finished_at'], unique=False)
    op.execute("UPDATE outbox SET finished_at = relayed_at WHERE relayed_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_finished_at'))
        batch_op.drop_column('set_aside_reason')
        batch_op.drop_column('set_aside_at')
        batch_op.drop_column('failed_at')
        batch_op.drop_column('finished_at')
