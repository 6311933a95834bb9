"""the training space: rehearsal runs on the browser phone, and their requests

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 16:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'training_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('trainee_id', sa.Integer(), nullable=False),
        sa.Column('scenario', sa.String(length=64), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['trainee_id'], ['staff.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('phone'),
    )
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_runs_trainee_id'), ['trainee_id'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('training_run_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tickets_training_run_id'), ['training_run_id'], unique=False)
        batch_op.create_foreign_key('fk_tickets_training_run_id_training_runs', 'training_runs', ['training_run_id'], ['id'])


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tickets_training_run_id_training_runs', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_tickets_training_run_id'))
        batch_op.drop_column('training_run_id')
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_runs_trainee_id'))
    op.drop_table('training_runs')
