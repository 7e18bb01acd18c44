"""page results: computed page figures kept per store set and data version

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pageresult',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('stores', sa.Text(), nullable=False),
    sa.Column('params', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('computed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('compute_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'stores', 'params', name='uq_page_result_key')
    )
    with op.batch_alter_table('pageresult', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pageresult_computed_at'), ['computed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pageresult', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pageresult_computed_at'))
    op.drop_table('pageresult')
