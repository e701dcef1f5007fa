"""Command line of the service directory: import, confirm, report, nearest (see core/directory/__init__.py)."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from core.directory.coverage import coverage, format_report
from core.directory.importer import CsvImportError, read_import_csv, valid_date
from core.directory.model import DEFAULT_PATH, KINDS, PHONE_RE, Directory, normalize_phone
from core.places import Gazetteer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.directory", description="Salama service directory")
    parser.add_argument("--services", type=Path, default=DEFAULT_PATH, help="directory file (data/services.yml)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_import = sub.add_parser("import", help="validate a CSV (a partner's list or the researched list) and merge it")
    p_import.add_argument("csv", type=Path)
    p_import.add_argument("--out", type=Path, default=None, help="directory file to update (default: --services)")
    p_import.add_argument("--checked-on", default=None, help="for the researched list: the day it was checked (default today)")
    p_confirm = sub.add_parser("confirm", help="record that a partner confirmed an entry by phone")
    p_confirm.add_argument("id")
    p_confirm.add_argument("--on", required=True, help="date of the call, YYYY-MM-DD")
    p_confirm.add_argument("--by", required=True, help="who confirmed it (organisation)")
    p_confirm.add_argument("--phone", default=None, help="the number the partner confirmed, if it is public")
    sub.add_parser("report", help="coverage of the gazetteer's urban communes")
    p_near = sub.add_parser("nearest", help="nearest entries to a point, one JSON object per line")
    p_near.add_argument("--lat", type=float, required=True)
    p_near.add_argument("--lng", type=float, required=True)
    p_near.add_argument("--kind", action="append", help="entry kind (repeatable, or comma-separated)")
    p_near.add_argument("--limit", type=int, default=3)
    args = parser.parse_args(argv)

    if args.command == "import":
        out = args.out or args.services
        try:
            new, refused = read_import_csv(args.csv, checked_on=args.checked_on)
        except CsvImportError as exc:
            print(exc, file=sys.stderr)
            return 1
        for line in refused:
            print(line, file=sys.stderr)
        directory = Directory.load(out) if out.exists() else Directory([])
        added, updated, kept = directory.merge(new)
        directory.save(out)
        print(f"{out}: {added} added, {updated} updated, {kept} kept (confirmed by phone), "
              f"{len(refused)} refused, {len(directory.entries)} entries")
        return 0
    directory = Directory.load(args.services)
    if args.command == "confirm":
        phone = normalize_phone(args.phone) if args.phone else None
        if not valid_date(args.on):
            parser.error(f"--on {args.on!r} is not a date YYYY-MM-DD")
        if phone is not None and not PHONE_RE.match(phone):
            parser.error(f"--phone {args.phone!r} is not a Moroccan number")
        try:
            entry = directory.confirm(args.id, args.on, args.by, phone)
        except KeyError:
            parser.error(f"no entry with id {args.id!r} in {args.services}")
        directory.save(args.services)
        print(f"{args.services}: {entry.id} confirmed by {args.by} on {args.on}")
    elif args.command == "report":
        gaz = Gazetteer.load()
        print(format_report(coverage(directory, gaz), gaz))
    elif args.command == "nearest":
        kinds = {k.strip() for group in args.kind or [] for k in group.split(",") if k.strip()} or None
        unknown = (kinds or set()) - KINDS
        if unknown:
            parser.error(f"unknown kind(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(KINDS))}")
        for entry, km in directory.nearest(args.lat, args.lng, kinds, args.limit):
            print(json.dumps({**asdict(entry), "distance_km": round(km, 1)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
