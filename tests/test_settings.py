"""Settings: read once, validated with the variable's name, secrets never in repr."""
import stat

import pytest

from core.crypto import Vault
from core.settings import Settings, SettingsError


def test_twilio_mode_needs_a_token_unless_local(tmp_path):
    with pytest.raises(SettingsError, match="TWILIO_AUTH_TOKEN"):
        Settings.from_env({"SALAMA_VAR_DIR": str(tmp_path)})
    local = Settings.from_env({"SALAMA_VAR_DIR": str(tmp_path), "SALAMA_LOCAL_MODE": "1"})
    assert local.local_mode and local.twilio_auth_token  # signatures are still checked


def test_generated_secret_is_private_and_stable(tmp_path):
    env = {"SALAMA_VAR_DIR": str(tmp_path), "SALAMA_LOCAL_MODE": "1"}
    first, second = Settings.from_env(env), Settings.from_env(env)
    assert first.salama_secret == second.salama_secret
    mode = (tmp_path / "salama_secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


@pytest.mark.parametrize("name, value", [("GATEWAY_PORT", "eighty"), ("GATEWAY_PORT", "70000"),
                                         ("REPLY_BUDGET_S", "20"), ("PUBLIC_BASE_URL", "ftp://x"),
                                         ("COUNSELLOR_HOURS", "9h-17h")])
def test_bad_values_name_the_variable(tmp_path, name, value):
    env = {"SALAMA_VAR_DIR": str(tmp_path), "SALAMA_LOCAL_MODE": "1", name: value}
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_secrets_are_not_in_repr(tmp_path):
    settings = Settings.from_env({"SALAMA_VAR_DIR": str(tmp_path), "TWILIO_AUTH_TOKEN": "tok-123456789",
                                  "SALAMA_SECRET": "s" * 32})
    text = repr(settings)
    assert "tok-123456789" not in text and "s" * 32 not in text and settings.rasa_token not in text


def test_secret_rotation_keeps_pseudonyms_and_old_data_readable():
    old, new = "o" * 32, "n" * 32
    before = Vault(old)
    token = before.encrypt("ana f casa")
    after = Vault(new, [old], pseudonym_secret=old)
    assert after.pseudonym("+212600000001") == before.pseudonym("+212600000001")
    assert after.decrypt(token) == "ana f casa"
    assert Vault(new).pseudonym("+212600000001") != before.pseudonym("+212600000001")
    with pytest.raises(ValueError):
        Vault(new).decrypt(token)
