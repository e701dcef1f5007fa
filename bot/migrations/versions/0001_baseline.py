"""Baseline: the gateway store as the last version without migrations created it.

A store made by that version is adopted by `python -m bot.migrate` (stamped 0001, rows kept);
an empty database is created from here.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""
from typing import Optional

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Optional[str] = None
branch_labels: Optional[str] = None
depends_on: Optional[str] = None

INDEXED = {  # table: the columns that have an index of their own
    "gw_inbound": ["conversation_id"],
    "gw_transcript": ["conversation_id"],
    "gw_outbox": ["conversation_id", "twilio_sid"],
    "gw_notes": ["conversation_id"],
    "gw_pending": ["conversation_id"],
}


def upgrade() -> None:
    op.create_table(
        "gw_conversations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("address_enc", sa.LargeBinary(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("language", sa.String(10)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(40)),
        sa.Column("counsellor", sa.String(64)),
        sa.Column("waiting_since", sa.Float()),
        sa.Column("timeout_notified", sa.Boolean(), nullable=False),
        sa.Column("last_inbound_at", sa.Float()),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("quiet", sa.Boolean(), nullable=False),
        sa.Column("options", sa.Text()),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "gw_inbound",
        sa.Column("message_sid", sa.String(64), primary_key=True),
        sa.Column("conversation_id", sa.String(40), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("reply_enc", sa.LargeBinary()),
    )
    op.create_table(
        "gw_transcript",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(40), nullable=False),
        sa.Column("sender", sa.String(12), nullable=False),
        sa.Column("counsellor", sa.String(64)),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_table(
        "gw_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(40), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.Column("content_sid", sa.String(64)),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float()),
        sa.Column("twilio_sid", sa.String(64)),
        sa.Column("delivery", sa.String(16)),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "gw_notes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(40), nullable=False),
        sa.Column("counsellor", sa.String(64), nullable=False),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_table(
        "gw_counsellors",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.Float()),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "gw_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "gw_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("counsellor", sa.String(64)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(40)),
    )
    op.create_table(
        "gw_pending",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(40), nullable=False),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("metadata_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    for table, columns in INDEXED.items():
        for column in columns:
            op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table in ("gw_pending", "gw_audit", "gw_sessions", "gw_counsellors", "gw_notes",
                  "gw_outbox", "gw_transcript", "gw_inbound", "gw_conversations"):
        op.drop_table(table)  # its indexes go with it
