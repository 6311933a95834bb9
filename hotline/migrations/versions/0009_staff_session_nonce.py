"""Staff session nonce: a dashboard session cookie names it, logout replaces it.

Every existing account gets a nonce of its own, so sessions opened before the upgrade
(whose cookies carry the bare staff id) are refused and their holders sign in again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 09:00:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_nonce', sa.String(length=32), nullable=True))

    staff = sa.table('staff', sa.column('id', sa.Integer), sa.column('session_nonce', sa.String))
    connection = op.get_bind()
    for (staff_id,) in connection.execute(sa.select(staff.c.id)).all():
        connection.execute(
            staff.update().where(staff.c.id == staff_id).values(session_nonce=secrets.token_hex(16))
        )


def downgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('session_nonce')
