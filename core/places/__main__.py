"""`python -m core.places resolve|lookup|...`: the gazetteer from the command line, and the
NLU lookup table it writes."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from core.places.gazetteer import DATA_DIR, LOOKUP_PATH, Gazetteer
from core.places.model import Place, Resolution


def _place_json(place: Place | None) -> dict:
    if place is None:
        return {}
    return {k: v for k, v in asdict(place).items()}


def resolution_json(query: str, res: Resolution) -> dict:
    place = res.place
    return {
        "query": query,
        "status": res.status,
        "score": res.score,
        "matched": res.matched or None,
        "id": place.id if place else None,
        "kind": place.kind if place else None,
        "name_fr": place.name_fr if place else None,
        "name_ar": place.name_ar if place else None,
        "town": place.town if place else None,
        "province": place.province if place else None,
        "region": place.region if place else None,
        "lat": place.lat if place else None,
        "lng": place.lng if place else None,
        "precision": place.precision if place else None,
        "candidates": [
            {"id": c.id, "kind": c.kind, "name_fr": c.name_fr, "town": c.town, "province": c.province, "region": c.region}
            for c in res.candidates
        ],
    }


def write_lookup(gaz: Gazetteer, path: Path = LOOKUP_PATH) -> int:
    """Write the Rasa lookup table of place names (weak aliases left out: they are ordinary words)."""
    names = gaz.aliases(include_weak=False)
    lines = ['version: "3.1"', "nlu:", "- lookup: place", "  examples: |"]
    lines += [f"    - {name}" for name in names]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.places", description="Salama place lookup")
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="gazetteer folder (data/places)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_resolve = sub.add_parser("resolve", help="resolve place names; one JSON object per line")
    p_resolve.add_argument("text", nargs="+")
    p_lookup = sub.add_parser("lookup", help="write the Rasa lookup table of place names")
    p_lookup.add_argument("--out", type=Path, default=LOOKUP_PATH)
    args = parser.parse_args(argv)

    gaz = Gazetteer.load(args.data)
    if args.command == "resolve":
        for text in args.text:
            print(json.dumps(resolution_json(text, gaz.resolve(text)), ensure_ascii=False))
    elif args.command == "lookup":
        count = write_lookup(gaz, args.out)
        print(f"wrote {count} place names to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
