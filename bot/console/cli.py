"""Manage console accounts (`make counsellor NAME=...`, `make supervisor NAME=...`); the
password comes on stdin. After the first supervisor, accounts are managed from the page."""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import Optional, TextIO

from bot.console import accounts
from bot.store import Store
from core.settings import Settings, SettingsError


def read_password(stream: TextIO) -> str:
    """From a terminal: asked twice, not echoed. Piped: the first line."""
    if stream.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise accounts.AccountError("the two passwords differ")
        return first
    return stream.readline().rstrip("\r\n")


def run(store: Store, command: str, name: str, stdin: TextIO) -> str:
    """Do one command; returns what to print. Raises AccountError with a clear message."""
    if command == "add-counsellor":
        accounts.add_counsellor(store, name, read_password(stdin))
        return f"counsellor {name} created"
    if command == "add-supervisor":
        accounts.add_counsellor(store, name, read_password(stdin), role="supervisor")
        return f"supervisor {name} created: the programme view is at /console/programme"
    if command == "set-password":
        accounts.set_password(store, name, read_password(stdin))
        return f"password of {name} changed; sessions ended"
    accounts.remove_counsellor(store, name)
    return f"counsellor {name} removed; sessions ended"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.console", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("add-counsellor", "add-supervisor", "set-password",
                                                "remove-counsellor"))
    parser.add_argument("name", help="the account's login name (letters, digits, . _ -)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    store = Store(settings.store_url)
    try:
        print(run(store, args.command, args.name, sys.stdin))
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0
