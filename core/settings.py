"""One settings object, read from the environment once at start-up and validated."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Optional

from core.crypto import Vault

ROOT = Path(__file__).resolve().parent.parent
TWILIO_API = "https://api.twilio.com"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _load_secret(env: Mapping[str, str], var_dir: Path) -> str:
    """SALAMA_SECRET from the environment, else a key generated once into var/ (local use)."""
    if env.get("SALAMA_SECRET"):
        return env["SALAMA_SECRET"]
    path = var_dir / "salama_secret"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Secrets are excluded from repr so they never reach a log."""

    salama_secret: str = field(repr=False)
    twilio_account_sid: str = "AClocal00000000000000000000000000"
    twilio_auth_token: str = field(default="", repr=False)
    twilio_sms_from: str = "+212500000000"
    twilio_whatsapp_from: str = "whatsapp:+212500000000"
    twilio_api_base_url: str = TWILIO_API
    twilio_whatsapp_template_sid: str = ""
    public_base_url: str = "http://127.0.0.1:8080"
    local_mode: bool = False
    database_url: str = ""
    redis_url: str = ""
    # One Rasa server, or several separated by commas (bot/rasa_client.py routes by conversation).
    rasa_url: str = "http://127.0.0.1:5005"
    # How many Rasa servers `make run` starts, on RASA_URL's port and the next ones (docs/CAPACITY.md).
    rasa_processes: int = 2
    actions_url: str = "http://127.0.0.1:5055"
    rasa_token: str = field(default="", repr=False)
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    reply_budget_s: float = 8.0
    rasa_timeout_s: float = 30.0
    retention_days: int = 30
    handoff_wait_s: int = 600
    counsellor_hours: str = "00:00-24:00"
    quick_exit_word: str = "ananas"
    twilio_redact_on_forget: bool = False
    rate_limit_per_minute: int = 20
    max_body_chars: int = 1600
    var_dir: Path = ROOT / "var"
    old_secrets: tuple = field(default=(), repr=False)
    pseudonym_secret: str = field(default="", repr=False)

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'gateway.db'}"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(env.get("SALAMA_VAR_DIR", str(ROOT / "var")))
        token = env.get("TWILIO_AUTH_TOKEN", "")
        local = _flag(env.get("SALAMA_LOCAL_MODE"), default=False)
        if not local and not token:
            raise SettingsError("TWILIO_AUTH_TOKEN is required unless SALAMA_LOCAL_MODE=1")
        secret = _load_secret(env, var_dir)
        if len(secret) < 16:
            raise SettingsError("SALAMA_SECRET must be at least 16 characters")
        values: dict[str, Any] = dict(
            salama_secret=secret,
            # Local mode still checks signatures, with a token derived from the secret.
            twilio_auth_token=token or _derive(secret, "local-twilio-token"),
            local_mode=local,
            var_dir=var_dir,
            old_secrets=tuple(s for s in env.get("SALAMA_OLD_SECRETS", "").split(",") if s),
        )
        for f in fields(cls):
            name = f.name
            if name in values:
                continue
            raw = env.get(name.upper())
            if raw is None or raw == "":
                continue
            try:
                values[name] = _cast(f.default, raw)
            except ValueError as exc:
                raise SettingsError(f"{name.upper()}: {exc}") from None
        if not values.get("rasa_token"):
            values["rasa_token"] = _derive(secret, "rasa-token")
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if not self.public_base_url.startswith(("http://", "https://")):
            raise SettingsError("PUBLIC_BASE_URL must start with http:// or https://")
        if not 0 < self.gateway_port < 65536:
            raise SettingsError("GATEWAY_PORT must be a TCP port")
        urls = [u.strip() for u in self.rasa_url.split(",") if u.strip()]
        if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
            raise SettingsError("RASA_URL must be one URL or several separated by commas")
        if not 1 <= self.rasa_processes <= 16:
            raise SettingsError("RASA_PROCESSES must be between 1 and 16")
        if self.reply_budget_s <= 0 or self.reply_budget_s >= 14:
            raise SettingsError("REPLY_BUDGET_S must be between 0 and 14 (Twilio waits 15 s)")
        # Another API base is allowed (tests point it at a local server), but it must be a URL.
        if (not self.local_mode and self.twilio_api_base_url != TWILIO_API
                and not self.twilio_api_base_url.startswith("http")):
            raise SettingsError("TWILIO_API_BASE_URL must be a URL")
        _parse_hours(self.counsellor_hours)

    def vault(self) -> Vault:
        """The pseudonym and encryption keys these settings define."""
        return Vault(self.salama_secret, self.old_secrets, self.pseudonym_secret or None)

    def working_hours(self) -> tuple[int, int]:
        return _parse_hours(self.counsellor_hours)


def _derive(secret: str, purpose: str) -> str:
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()[:32]


def _flag(raw: Optional[str], default: bool) -> bool:
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _cast(default: object, raw: str) -> object:
    if isinstance(default, bool):
        return _flag(raw, default)
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    return raw


def _parse_hours(spec: str) -> tuple[int, int]:
    """'08:00-20:00' -> (480, 1200) minutes of the day (Morocco time, UTC+1)."""
    try:
        start, end = spec.split("-")
        to_min = lambda s: int(s.split(":")[0]) * 60 + int(s.split(":")[1])  # noqa: E731
        a, b = to_min(start), to_min(end)
    except (ValueError, IndexError):
        raise SettingsError("COUNSELLOR_HOURS must look like 08:00-20:00") from None
    if not (0 <= a < b <= 1440):
        raise SettingsError("COUNSELLOR_HOURS must be an increasing range within a day")
    return a, b
