"""Keyed pseudonyms for addresses and encryption of text at rest, keys derived from SALAMA_SECRET."""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Iterable, Optional, overload

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def _subkey(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


class Vault:
    """Pseudonymises addresses and encrypts/decrypts text.

    The encryption key rotates: the current secret encrypts, old secrets
    (SALAMA_OLD_SECRETS) still decrypt, and `rotate()` re-encrypts a token under the current
    key. Pseudonyms must not change with it (they would split her conversation and hide it
    from "forget me"): they are keyed by `pseudonym_secret` (SALAMA_PSEUDONYM_SECRET), which
    defaults to the secret and is set to the old secret when the secret rotates.
    """

    def __init__(self, secret: str, old_secrets: Iterable[str] = (),
                 pseudonym_secret: Optional[str] = None) -> None:
        self._pseudo_key = _subkey(pseudonym_secret or secret, "pseudonym")
        keys = [secret, *old_secrets]
        self._fernet = MultiFernet(
            [Fernet(base64.urlsafe_b64encode(_subkey(k, "encryption"))) for k in keys]
        )

    def pseudonym(self, address: str) -> str:
        """A stable keyed id for a phone address ('whatsapp:+2126...' and '+2126...' differ)."""
        digest = hmac.new(self._pseudo_key, address.encode(), hashlib.sha256).hexdigest()
        return "u" + digest[:24]

    @overload
    def encrypt(self, text: str) -> bytes: ...
    @overload
    def encrypt(self, text: None) -> None: ...

    def encrypt(self, text: Optional[str]) -> Optional[bytes]:
        if text is None:
            return None
        return self._fernet.encrypt(text.encode())

    @overload
    def decrypt(self, token: bytes) -> str: ...
    @overload
    def decrypt(self, token: None) -> None: ...

    def decrypt(self, token: Optional[bytes]) -> Optional[str]:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt: unknown key") from None

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(bytes(token))
