"""the practice phone's calls carry their rehearsal, so a wipe finds one that opened no request

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('training_run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_calls_training_run_id_training_runs', 'training_runs', ['training_run_id'], ['id'])


def downgrade():
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint('fk_calls_training_run_id_training_runs', type_='foreignkey')
        batch_op.drop_column('training_run_id')
