"""drop demotruth: the demo's ground truth leaves the production schema (demo.truth keeps it)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('demotruth', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demotruth_customer_id'))

    op.drop_table('demotruth')


def downgrade() -> None:
    op.create_table('demotruth',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('pet_id', sa.Integer(), nullable=True),
    sa.Column('true_cadence_days', sa.Float(), nullable=False),
    sa.Column('churned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('noshow_propensity', sa.Float(), nullable=False),
    sa.Column('designated_staff_id', sa.Integer(), nullable=True),
    sa.Column('archetype', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.ForeignKeyConstraint(['pet_id'], ['pet.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('demotruth', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demotruth_customer_id'), ['customer_id'], unique=False)
