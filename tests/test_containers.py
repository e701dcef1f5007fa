"""compose.yml and the Dockerfile refer only to what exists: modules, files, ports, health
routes, the settings endpoints.scaled.yml needs, and the migrate step before every user of the
schema. (No container engine runs here, so nothing is built or started.)"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = sorted(name for name, service in SERVICES.items() if service.get("build") == ".")
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SCHEMA_USERS = ("rasa", "gateway")


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_stack_has_every_service_of_the_scaled_configuration():
    assert set(SERVICES) == {"postgres", "redis", "migrate", "actions", "rasa", "gateway"}
    assert OURS == ["actions", "gateway", "migrate", "rasa"]


@pytest.mark.parametrize("name", OURS)
def test_each_command_runs_a_module_and_files_of_this_repo(name):
    command = SERVICES[name]["command"]
    assert command[:2] == ["python", "-m"]
    assert importlib.util.find_spec(command[2]) is not None, f"{name}: no module {command[2]}"
    for option in ("--endpoints", "--credentials", "--actions"):
        if option in command:
            target = _option(command, option)
            assert (ROOT / target).exists() or importlib.util.find_spec(target), f"{name}: {target}"
    if "--model" in command:
        # Not in the repo: the Dockerfile trains it into the image at this path.
        model = Path(_option(command, "--model"))
        assert f"--out {model.parent}" in DOCKERFILE and f"--fixed-model-name {model.stem.split('.')[0]}" in DOCKERFILE


@pytest.mark.parametrize("name", OURS)
def test_every_variable_of_the_endpoints_file_is_set(name):
    command = SERVICES[name]["command"]
    if "--endpoints" not in command:
        return
    needed = set(re.findall(r"\$\{(\w+)\}", (ROOT / _option(command, "--endpoints")).read_text()))
    assert needed <= set(SERVICES[name]["environment"]), needed - set(SERVICES[name]["environment"])


def _listens_on(name: str) -> int:
    service = SERVICES[name]
    command = service["command"]
    return int(_option(command, "--port") if "--port" in command else service["environment"]["GATEWAY_PORT"])


def _health_url(name: str) -> tuple[int, str]:
    test = SERVICES[name]["healthcheck"]["test"]
    found = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*?)'", " ".join(test))
    assert found, f"{name}: health check {test} calls no local URL"
    return int(found.group(1)), found.group(2)


@pytest.mark.parametrize("name", ["actions", "rasa", "gateway"])
def test_each_server_has_a_health_check_on_its_own_port_and_a_real_route(name, var_dir):
    port, path = _health_url(name)
    assert port == _listens_on(name)
    if name == "gateway":
        from bot.app import init_app
        from tests.conftest import make_settings

        app = init_app(make_settings(var_dir))
        paths = {r.resource.canonical for r in app.router.routes() if r.method == "GET"}
        assert path in paths
    else:
        # The routes are Rasa's and rasa_sdk's own: look for them in their sources.
        module = {"actions": "rasa_sdk.endpoint", "rasa": "rasa.server"}[name]
        source = Path(importlib.util.find_spec(module).origin).read_text()
        assert f'@app.get("{path}")' in source


def test_postgres_and_redis_have_health_checks_and_the_migration_runs_once_before_the_users():
    assert SERVICES["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    assert SERVICES["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    migrate = SERVICES["migrate"]
    assert migrate["restart"] == "no" and "healthcheck" not in migrate
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in SCHEMA_USERS:
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Every process reaches the same database and Redis as the migration prepared.
    for name in OURS:
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"] == migrate["environment"]["DATABASE_URL"]
        assert env["REDIS_URL"].endswith("/" + env["REDIS_DB"])


def test_the_dockerfile_installs_the_pins_and_leaves_out_local_state():
    assert "pip install -r requirements.txt && pip check" in DOCKERFILE
    assert re.search(r"^FROM python:3\.10-", DOCKERFILE, re.M), "Rasa 3.6 runs on Python 3.8-3.10"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".env", "var", "models"} <= set(ignored)
