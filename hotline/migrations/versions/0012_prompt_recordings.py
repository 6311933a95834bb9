"""prompt recordings by staff (phone booth, browser) and the staff PIN that opens the booth

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 13:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=200), nullable=True))
    op.create_table(
        'prompt_recordings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('prompt', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('recording_sid', sa.String(length=34), nullable=True),
        sa.Column('recording_url', sa.String(length=500), nullable=True),
        sa.Column('call_sid', sa.String(length=34), nullable=True),
        sa.Column('file', sa.String(length=200), nullable=True),
        sa.Column('version', sa.String(length=40), nullable=True),
        sa.Column('duration_seconds', sa.Integer(), nullable=True),
        sa.Column('problem', sa.String(length=300), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('live_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['approved_by_id'], ['staff.id'], ),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('recording_sid'),
    )
    with op.batch_alter_table('prompt_recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompt_recordings_language'), ['language'], unique=False)
        batch_op.create_index(batch_op.f('ix_prompt_recordings_recorded_by_id'), ['recorded_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('prompt_recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompt_recordings_recorded_by_id'))
        batch_op.drop_index(batch_op.f('ix_prompt_recordings_language'))
    op.drop_table('prompt_recordings')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('pin_hash')
