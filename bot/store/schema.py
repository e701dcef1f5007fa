"""The gateway store's tables: the newest schema. bot/migrations/ creates and upgrades a
database to it (`python -m bot.migrate`, docs/MIGRATIONS.md); a new column or table here needs
a new migration there."""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

conversations = sa.Table(
    "gw_conversations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # the pseudonym
    sa.Column("address_enc", sa.LargeBinary, nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("language", sa.String(10)),
    sa.Column("status", sa.String(10), nullable=False, default="bot"),  # bot|waiting|active
    sa.Column("priority", sa.Integer, nullable=False, default=0),  # 2 emergency, 1 disclosure
    sa.Column("region", sa.String(40)),
    sa.Column("counsellor", sa.String(64)),
    sa.Column("waiting_since", sa.Float),
    sa.Column("timeout_notified", sa.Boolean, nullable=False, default=False),
    sa.Column("last_inbound_at", sa.Float),
    sa.Column("opted_out", sa.Boolean, nullable=False, default=False),
    sa.Column("quiet", sa.Boolean, nullable=False, default=False),
    sa.Column("options", sa.Text),  # JSON list of payloads behind "1", "2", ...
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

inbound = sa.Table(
    "gw_inbound",
    metadata,
    sa.Column("message_sid", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("reply_enc", sa.LargeBinary),  # TwiML answered, replayed on a retry
)

transcript = sa.Table(
    "gw_transcript",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("sender", sa.String(12), nullable=False),  # user|bot|counsellor
    sa.Column("counsellor", sa.String(64)),
    sa.Column("text_enc", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

outbox = sa.Table(
    "gw_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("body_enc", sa.LargeBinary, nullable=False),
    sa.Column("content_sid", sa.String(64)),  # an approved WhatsApp template instead of a body
    sa.Column("status", sa.String(12), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("lease_until", sa.Float),
    sa.Column("twilio_sid", sa.String(64), index=True),
    sa.Column("delivery", sa.String(16)),  # Twilio's status callback: delivered, failed...
    sa.Column("created_at", sa.Float, nullable=False),
)

notes = sa.Table(
    "gw_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("counsellor", sa.String(64), nullable=False),
    sa.Column("text_enc", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

counsellors = sa.Table(
    "gw_counsellors",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("role", sa.String(12), nullable=False, server_default="counsellor"),  # or supervisor
    sa.Column("disabled_at", sa.Float),  # disabled by a supervisor; NULL: active
)

sessions = sa.Table(
    "gw_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

audit = sa.Table(
    "gw_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("counsellor", sa.String(64)),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("conversation_id", sa.String(40)),
    sa.Column("subject", sa.String(64)),  # the account a supervisor acted on
)

pending = sa.Table(
    "gw_pending",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(40), nullable=False, index=True),
    sa.Column("text_enc", sa.LargeBinary, nullable=False),  # what goes to Rasa, encrypted
    sa.Column("metadata_enc", sa.LargeBinary, nullable=False),  # JSON: channel, language, location
    sa.Column("created_at", sa.Float, nullable=False),
)

# The programme view's daily counters (bot.store.stats_store): counts only, never tied to a
# conversation, so an erasure or the retention purge has nothing to remove here.
daily_counts = sa.Table(
    "gw_daily_counts",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, Morocco time
    sa.Column("kind", sa.String(32), primary_key=True),  # bot.stats.KINDS
    sa.Column("key", sa.String(40), primary_key=True),  # a channel, variety, region... or ""
    sa.Column("count", sa.Integer, nullable=False),
)
