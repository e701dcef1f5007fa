"""Counsellor accounts and console sessions: scrypt passwords, lockout, hashed session tokens.

Synchronous SQLAlchemy Core calls on the store's engine and tables; the console runs them in
a worker thread (`Store.run`), like every other store call.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.store import Store, counsellors, sessions

# scrypt: memory-hard (128 * N * r bytes = 16 MiB per hash), about 50 ms here.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
LOCKOUT_S = 15 * 60
SESSION_S = 12 * 3600
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")


class AccountError(ValueError):
    """A counsellor name or password that cannot be used; the message says why."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check against a hash made by `hash_password` (its own parameters)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=64 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return secrets.compare_digest(got, expected)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A real hash to check unknown names against, so that they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def check_new(username: str, password: str) -> None:
    if not USERNAME.match(username):
        raise AccountError("the name must be 2 to 64 letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def add_counsellor(store: Store, username: str, password: str) -> None:
    """Create an account; refuses an existing name (use `set_password` to change one)."""
    check_new(username, password)
    try:
        with store.engine.begin() as conn:
            conn.execute(counsellors.insert().values(
                username=username, password_hash=hash_password(password), failed_logins=0,
                locked_until=None, created_at=time.time()))
    except IntegrityError:
        raise AccountError(f"a counsellor named {username!r} already exists") from None


def set_password(store: Store, username: str, password: str) -> None:
    """Change a password, lift any lockout and end the account's sessions."""
    check_new(username, password)
    with store.engine.begin() as conn:
        found = conn.execute(
            counsellors.update().where(counsellors.c.username == username)
            .values(password_hash=hash_password(password), failed_logins=0, locked_until=None)
        ).rowcount
        if not found:
            raise AccountError(f"no counsellor named {username!r}")
        conn.execute(sessions.delete().where(sessions.c.username == username))


def remove_counsellor(store: Store, username: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.username == username))
        if not conn.execute(counsellors.delete().where(counsellors.c.username == username)).rowcount:
            raise AccountError(f"no counsellor named {username!r}")


@dataclass
class LoginResult:
    ok: bool
    locked_for: float = 0.0  # seconds left when the account is locked


def authenticate(store: Store, username: str, password: str) -> LoginResult:
    """Check a password; five failures in a row lock the account for fifteen minutes."""
    now = time.time()
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(counsellors).where(counsellors.c.username == username)).first()
    if row is None:
        verify_password(password, _dummy_hash())
        return LoginResult(False)
    if row.locked_until and row.locked_until > now:
        return LoginResult(False, row.locked_until - now)
    if verify_password(password, row.password_hash):
        with store.engine.begin() as conn:
            conn.execute(counsellors.update().where(counsellors.c.username == username)
                         .values(failed_logins=0, locked_until=None))
        return LoginResult(True)
    with store.engine.begin() as conn:
        # Counted in SQL so that concurrent attempts cannot overwrite each other's count.
        conn.execute(counsellors.update().where(counsellors.c.username == username)
                     .values(failed_logins=counsellors.c.failed_logins + 1))
        conn.execute(counsellors.update().where(counsellors.c.username == username)
                     .where(counsellors.c.failed_logins >= MAX_FAILURES)
                     .values(failed_logins=0, locked_until=now + LOCKOUT_S))
        locked = conn.execute(sa.select(counsellors.c.locked_until)
                              .where(counsellors.c.username == username)).scalar()
    return LoginResult(False, locked - now if locked and locked > now else 0.0)


@dataclass
class Session:
    token_hash: str
    username: str
    csrf_token: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(store: Store, username: str) -> tuple[str, Session]:
    """A new session; returns the cookie's token (never stored) and the session."""
    token = secrets.token_urlsafe(32)
    session = Session(_token_hash(token), username, secrets.token_urlsafe(32))
    now = time.time()
    with store.engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.expires_at < now))
        conn.execute(sessions.insert().values(token_hash=session.token_hash, username=username,
                                              csrf_token=session.csrf_token,
                                              expires_at=now + SESSION_S))
    return token, session


def find_session(store: Store, token: str) -> Optional[Session]:
    if not token:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(sessions).where(sessions.c.token_hash == _token_hash(token))
            .where(sessions.c.expires_at > time.time())
        ).first()
    return Session(row.token_hash, row.username, row.csrf_token) if row else None


def end_session(store: Store, token_hash: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))
