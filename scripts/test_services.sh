#!/usr/bin/env bash
# What the tests need besides .venv, installed or started when missing: Debian's chromium
# (the console's browser tests), PostgreSQL and Redis (the scaled and store tests). Called by
# `make test`, so the README's command and CI (.ci/run only calls `make test`) cannot drift.
# Idempotent and quick when everything is there.
set -euo pipefail

need_root() {
  echo "test_services: $1 is missing and installing it needs root. Run once:" >&2
  echo "  sudo $2" >&2
  exit 1
}

# Debian's chromium (not Playwright's download: this machine cannot fetch it).
if [ ! -x /usr/bin/chromium ]; then
  cmd="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium"
  if [ "$(id -u)" != 0 ]; then need_root chromium "sh -c '$cmd'"; fi
  echo "test_services: installing Debian's chromium for the browser tests (about a minute, once)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 (this machine kind has it installed; it may be stopped).
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d /etc/postgresql ]; then
    echo "test_services: PostgreSQL is not installed: the tests need it on 127.0.0.1:5432" \
         "(trust auth, database test); install Debian's postgresql" >&2
    exit 1
  fi
  echo "test_services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
fi

# Redis on 127.0.0.1:6379, keeping nothing on disk.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "test_services: Redis is not installed: the tests need it on 127.0.0.1:6379;" \
         "install Debian's redis-server" >&2
    exit 1
  fi
  echo "test_services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
