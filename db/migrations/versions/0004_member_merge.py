"""member merge: customer.merged_into_id and the member_merge record (what moved, for undo)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_foreign_key('fk_customer_merged_into_id', 'customer', ['merged_into_id'], ['id'])
    op.create_table('member_merge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('keep_id', sa.Integer(), nullable=False),
    sa.Column('absorb_id', sa.Integer(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('moved', sa.JSON(), nullable=False),
    sa.Column('keep_before', sa.JSON(), nullable=False),
    sa.Column('merged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('undone_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('undone_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['absorb_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['keep_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('member_merge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_merge_absorb_id'), ['absorb_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_merge_keep_id'), ['keep_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('member_merge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_merge_keep_id'))
        batch_op.drop_index(batch_op.f('ix_member_merge_absorb_id'))
    op.drop_table('member_merge')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint('fk_customer_merged_into_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_customer_merged_into_id'))
        batch_op.drop_column('merged_into_id')
