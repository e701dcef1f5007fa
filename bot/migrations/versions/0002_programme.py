"""The programme view: daily counters (gw_daily_counts) and the console's roles.

gw_counsellors gains `role` (counsellor or supervisor; existing accounts stay counsellors)
and `disabled_at` (a supervisor disabled the account; NULL: active); gw_audit gains `subject`
(the account a supervisor created, reset or disabled).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
from typing import Optional

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Optional[str] = "0001"
branch_labels: Optional[str] = None
depends_on: Optional[str] = None


def upgrade() -> None:
    op.create_table(
        "gw_daily_counts",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("gw_counsellors") as batch:
        batch.add_column(sa.Column("role", sa.String(12), nullable=False, server_default="counsellor"))
        batch.add_column(sa.Column("disabled_at", sa.Float()))
    with op.batch_alter_table("gw_audit") as batch:
        batch.add_column(sa.Column("subject", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("gw_audit") as batch:
        batch.drop_column("subject")
    with op.batch_alter_table("gw_counsellors") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("role")
    op.drop_table("gw_daily_counts")
