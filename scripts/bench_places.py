"""Measure the place lookup on tests/places/messy_places.yml, then the directory's coverage.

    .venv/bin/python scripts/bench_places.py [--cases tests/places/messy_places.yml] [--repeat 20]

Prints the gazetteer load time, top-1 region accuracy over the cases (the resolved place, or
the first candidate of an ambiguous answer), town accuracy where a town is expected, false
positives on the negative messages, every failure, and the median and p99 time per lookup;
then the coverage report of `python -m core.directory report` (urban communes with a local
point within 25 and 50 km, per kind and per region, median distance).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.directory import Directory  # noqa: E402
from core.directory.coverage import coverage, format_report  # noqa: E402
from core.places import Gazetteer, Place, Resolution  # noqa: E402

DEFAULT_CASES = ROOT / "tests" / "places" / "messy_places.yml"


def top1(res: Resolution) -> Place | None:
    return res.place or (res.candidates[0] if res.candidates else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--repeat", type=int, default=20, help="timing passes over all messages")
    args = parser.parse_args(argv)

    doc = yaml.safe_load(args.cases.read_text(encoding="utf-8"))
    cases, negatives = doc["cases"], doc.get("negatives") or []

    start = time.perf_counter()
    gaz = Gazetteer.load()
    load_ms = (time.perf_counter() - start) * 1000

    failures = []
    region_ok = town_total = town_ok = 0
    for case in cases:
        place = top1(gaz.resolve(case["text"]))
        got_region = place.region if place else None
        if got_region == case["region"]:
            region_ok += 1
        else:
            failures.append(f"region  {case['text']!r}: expected {case['region']}, got {got_region}")
        if case.get("town"):
            town_total += 1
            expected_town = gaz.places[case["town"]].name_fr
            if place and place.town == expected_town:
                town_ok += 1
            elif got_region == case["region"]:
                failures.append(f"town    {case['text']!r}: expected {expected_town}, got {place.town if place else None}")
    false_pos = []
    for text in negatives:
        res = gaz.resolve(text)
        if res.status != "unknown":
            place = top1(res)
            false_pos.append(f"negative {text!r}: got {res.status} {place.id if place else None} ({res.score})")

    texts = [c["text"] for c in cases] + list(negatives)
    times = []
    for _ in range(args.repeat):
        for text in texts:
            t0 = time.perf_counter()
            gaz.resolve(text)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]

    accuracy = 100 * region_ok / len(cases)
    print(f"gazetteer load: {load_ms:.0f} ms ({len(gaz.places)} places, {len(gaz.aliases())} aliases)")
    print(f"top-1 region accuracy: {region_ok}/{len(cases)} = {accuracy:.1f}%")
    print(f"town accuracy (where expected): {town_ok}/{town_total} = {100 * town_ok / max(town_total, 1):.1f}%")
    print(f"negatives resolved to unknown: {len(negatives) - len(false_pos)}/{len(negatives)}")
    print(f"time per lookup: median {statistics.median(times):.3f} ms, p99 {p99:.3f} ms ({len(times)} lookups)")
    for line in failures + false_pos:
        print("FAIL", line)
    print(format_report(coverage(Directory.load(), gaz), gaz))
    return 0


if __name__ == "__main__":
    sys.exit(main())
