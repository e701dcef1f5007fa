"""Console accounts (counsellors and supervisors) and sessions: scrypt passwords and hashed
session tokens. A supervisor sees the programme view and manages accounts; a counsellor
sees the queue. A disabled account cannot log in and has no session.

The rows live in the store (bot.store.account_store); these functions add the password rules
and hashing, and run in the store's threads (`store.aio.call`); password checks run on the
console's own thread (`bot.console.login`).
Throttling of failed logins lives in `bot.console.login`, not here: nothing locks an account.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Optional

from bot.store import Store

# OWASP's minimum for scrypt (Password Storage Cheat Sheet): N=2^17, r=8, p=1, i.e.
# 128 * N * r = 128 MiB of memory and 0.5 to 0.7 s of one core per hash on this machine.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAXMEM = 256 * 1024 * 1024
SESSION_S = 12 * 3600
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")
ROLES = ("counsellor", "supervisor")


class AccountError(ValueError):
    """A counsellor name or password that cannot be used; the message says why."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=SCRYPT_MAXMEM, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check against a hash made by `hash_password` (its own parameters)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=SCRYPT_MAXMEM, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return secrets.compare_digest(got, expected)


def needs_rehash(stored: str) -> bool:
    """True for a hash made with other (older, cheaper) parameters than today's."""
    return not stored.startswith(f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$")


def _decoy() -> str:
    """A hash of nothing at today's cost: checking a password against it always fails."""
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(secrets.token_bytes(16))}${_b64(bytes(32))}"


def check_password(password: str, stored: Optional[str]) -> bool:
    """The login check. Every failure costs at least one hash at today's cost, whether the
    name exists or not, so that the time of the answer does not tell which names exist."""
    if stored is not None and verify_password(password, stored):
        return True
    if stored is None or needs_rehash(stored):
        verify_password(password, _decoy())
    return False


def check_new(username: str, password: str) -> None:
    if not USERNAME.match(username):
        raise AccountError("the name must be 2 to 64 letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def add_counsellor(store: Store, username: str, password: str, role: str = "counsellor") -> None:
    """Create an account; refuses an existing name (use `set_password` to change one)."""
    check_new(username, password)
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    if not store.insert_account(username, hash_password(password), role):
        raise AccountError(f"an account named {username!r} already exists")


def set_password(store: Store, username: str, password: str) -> None:
    """Change a password and end the account's sessions."""
    check_new(username, password)
    if not store.update_password(username, hash_password(password)):
        raise AccountError(f"no counsellor named {username!r}")


def set_disabled(store: Store, username: str, disabled: bool) -> None:
    """Disable an account (its sessions end; logins fail as for a wrong password) or enable it."""
    if not store.set_account_disabled(username, disabled):
        raise AccountError(f"no account named {username!r}")


def list_accounts(store: Store) -> list[dict]:
    """Every account: name, role, whether disabled, when created. No hash leaves here."""
    return store.list_accounts()


def audit_account(store: Store, action: str, supervisor: str, subject: str) -> None:
    """Record who managed which account (never a password)."""
    store.audit_account(action, supervisor, subject)


def remove_counsellor(store: Store, username: str) -> None:
    if not store.delete_account(username):
        raise AccountError(f"no counsellor named {username!r}")


def password_hash(store: Store, username: str) -> Optional[str]:
    """The hash to check a login against; None for an unknown or disabled account."""
    return store.password_hash(username)


def replace_hash(store: Store, username: str, old: str, new: str) -> None:
    """Store a rehashed password, unless the password was changed in the meantime."""
    store.replace_hash(username, old, new)


@dataclass
class Session:
    token_hash: str
    username: str
    csrf_token: str
    role: str = "counsellor"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(store: Store, username: str) -> tuple[str, Session]:
    """A new session; returns the cookie's token (never stored) and the session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    role = store.insert_session(username, _token_hash(token), csrf, time.time() + SESSION_S)
    return token, Session(_token_hash(token), username, csrf, role)


def find_session(store: Store, token: str) -> Optional[Session]:
    """The live session of this cookie, with the account's role; None once it is disabled."""
    if not token:
        return None
    row = store.live_session(_token_hash(token))
    return Session(row["token_hash"], row["username"], row["csrf_token"], row["role"]) if row else None


def end_session(store: Store, token_hash: str) -> None:
    store.end_session(token_hash)
