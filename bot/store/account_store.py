"""Console accounts (counsellors and supervisors) and their sessions: rows only. Passwords
are hashed and checked by bot.console.accounts; tokens arrive here already hashed."""
from __future__ import annotations

import time
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.store.schema import audit, counsellors, sessions


class AccountStore:
    engine: Engine

    def insert_account(self, username: str, password_hash: str, role: str) -> bool:
        """False when the name is taken."""
        try:
            with self.engine.begin() as conn:
                conn.execute(counsellors.insert().values(username=username, password_hash=password_hash,
                                                         created_at=time.time(), role=role))
            return True
        except IntegrityError:
            return False

    def update_password(self, username: str, password_hash: str) -> bool:
        """Change the hash and end the account's sessions; False for an unknown name."""
        with self.engine.begin() as conn:
            found = conn.execute(counsellors.update().where(counsellors.c.username == username)
                                 .values(password_hash=password_hash)).rowcount
            conn.execute(sessions.delete().where(sessions.c.username == username))
        return bool(found)

    def set_account_disabled(self, username: str, disabled: bool) -> bool:
        """Disable (its sessions end) or enable an account; False for an unknown name."""
        with self.engine.begin() as conn:
            found = conn.execute(counsellors.update().where(counsellors.c.username == username)
                                 .values(disabled_at=time.time() if disabled else None)).rowcount
            conn.execute(sessions.delete().where(sessions.c.username == username))
        return bool(found)

    def list_accounts(self) -> list[dict]:
        """Every account: name, role, whether disabled, when created. No hash leaves here."""
        query = (sa.select(counsellors.c.username, counsellors.c.role, counsellors.c.disabled_at,
                           counsellors.c.created_at).order_by(counsellors.c.username))
        with self.engine.connect() as conn:
            return [{"username": r.username, "role": r.role, "disabled": r.disabled_at is not None,
                     "created_at": r.created_at} for r in conn.execute(query)]

    def audit_account(self, action: str, supervisor: str, subject: str) -> None:
        """Record who managed which account (never a password)."""
        with self.engine.begin() as conn:
            conn.execute(audit.insert().values(at=time.time(), action=action, counsellor=supervisor,
                                               subject=subject))

    def delete_account(self, username: str) -> bool:
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.username == username))
            return bool(conn.execute(counsellors.delete().where(counsellors.c.username == username)).rowcount)

    def password_hash(self, username: str) -> Optional[str]:
        """The hash to check a login against; None for an unknown or disabled account."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(counsellors.c.password_hash)
                                .where(counsellors.c.username == username)
                                .where(counsellors.c.disabled_at.is_(None))).scalar()

    def replace_hash(self, username: str, old: str, new: str) -> None:
        """Store a rehashed password, unless the password was changed in the meantime."""
        with self.engine.begin() as conn:
            conn.execute(counsellors.update().where(counsellors.c.username == username)
                         .where(counsellors.c.password_hash == old).values(password_hash=new))

    def insert_session(self, username: str, token_hash: str, csrf_token: str, expires_at: float) -> str:
        """Open a session (expired ones go); returns the account's role."""
        with self.engine.begin() as conn:
            role = conn.execute(sa.select(counsellors.c.role).where(counsellors.c.username == username)).scalar()
            conn.execute(sessions.delete().where(sessions.c.expires_at < time.time()))
            conn.execute(sessions.insert().values(token_hash=token_hash, username=username,
                                                  csrf_token=csrf_token, expires_at=expires_at))
        return role or "counsellor"

    def live_session(self, token_hash: str) -> Optional[dict[str, Any]]:
        """The session of this token with its account's role; None if expired or disabled."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(sessions, counsellors.c.role)
                .join(counsellors, counsellors.c.username == sessions.c.username)
                .where(sessions.c.token_hash == token_hash)
                .where(sessions.c.expires_at > time.time())
                .where(counsellors.c.disabled_at.is_(None))
            ).first()
        return dict(row._mapping) if row else None

    def end_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))
