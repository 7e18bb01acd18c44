"""sql sources: shop databases registered by a chain admin (encrypted URL, allowed tables, stores)

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sql_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('backend', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('shown_url', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=False),
    sa.Column('table_name', sqlmodel.sql.sqltypes.AutoString(length=130), nullable=True),
    sa.Column('query', sa.Text(), nullable=True),
    sa.Column('watermark_column', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('allowed_tables', sa.JSON(), nullable=False),
    sa.Column('store_ids', sa.JSON(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sql_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sql_source_name'), ['name'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('sql_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sql_source_name'))
    op.drop_table('sql_source')
