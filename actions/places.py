"""Resolve the place a woman names in a message (any script, any spelling) to the gazetteer.

Plain module: no Rasa imports and no work at import time. Load once with Gazetteer.load().

How resolve() works (docs/PLACES.md has the long version):
1. normalise (textnorm.normalize), split into Latin and Arabic word tokens, drop apostrophes;
2. classify tokens with data/places/common_words.yml: locatives ("f", "9rib", "à", "في") and
   fillers ("ana", "sakna", "j'habite", "مدينة") are dropped and split the message; articles
   and common words may sit inside a name but never make one alone;
3. exact pass: every span of up to N tokens is looked up as written, with Arabic (ف ب ل و ك)
   and Latin (f l b) prefixes stripped, and as a phonetic key (Arabizi digits 9=q 7=h 3=a...,
   ch/sh/x, ou/w, c/k/q, doubled letters); exact matches always win, longer spans first;
4. fuzzy pass (only if nothing matched exactly): rapidfuzz ratio of each span's phonetic key
   against every alias key, plus a consonant-skeleton match (mknas = meknes), with a
   threshold that grows as the span gets shorter; common words never fuzzy-match;
5. several different places that are not inside one another -> "ambiguous".
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import yaml
from rapidfuzz import fuzz, process

from actions.textnorm import normalize

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data" / "places"
LOOKUP_PATH = ROOT / "data" / "nlu" / "lookups" / "place.yml"

KIND_RANK = {"town": 0, "province": 1, "region": 2}  # most specific first
MAX_CANDIDATES = 4
MAX_TOKENS = 200  # a pasted essay is cut here; a 140-word message takes about 20 ms

_ARABIC = re.compile("[\u0600-\u06ff]")
_TOKEN = re.compile(r"[\u0600-\u06ff]+|[a-z0-9]+")
_APOSTROPHES = re.compile("['’‘`´]")
_DOUBLES = re.compile(r"(.)\1+")
_VOWELS = re.compile("[aeiou]")
# Arabizi digits and French/Darija spellings of the same sounds, applied in this order.
_LATIN_SOUNDS = [
    ("9", "k"), ("7", "h"), ("5", "kh"), ("3", "a"), ("2", ""), ("4", "gh"), ("8", "h"),
    ("tch", "x"), ("sh", "x"), ("ch", "x"), ("dj", "j"), ("ph", "f"), ("th", "t"),
    ("qu", "k"), ("q", "k"), ("ck", "k"), ("gue", "ge"), ("gui", "gi"),
    ("ce", "se"), ("ci", "si"), ("cy", "sy"), ("c", "k"),
    ("ou", "u"), ("oo", "u"), ("w", "u"),
]
_LATIN_SOUND_RE = re.compile("|".join(re.escape(a) for a, _ in _LATIN_SOUNDS))
_LATIN_SOUND_MAP = dict(_LATIN_SOUNDS)
_ARABIC_PREFIXES = "وفبلك"
_LATIN_PREFIXES = "flb"


@dataclass(frozen=True)
class Place:
    id: str
    kind: str  # "town" | "province" | "region"
    name_fr: str
    name_ar: str
    town: str | None
    province: str | None
    region: str
    lat: float | None
    lng: float | None
    code: str | None = None  # HCP code (towns, provinces) or None (regions)
    province_code: str | None = None
    # "town": the commune's centroid; "province_seat": the seat of the province (the seat is
    # assumed for a few, see provinces.csv seat_basis); "city": a Casablanca prefecture of
    # arrondissements, placed at Casablanca's centroid; None for regions.
    precision: str | None = None


@dataclass(frozen=True)
class Resolution:
    status: str  # "found" | "ambiguous" | "unknown"
    place: Place | None = None
    candidates: list[Place] = field(default_factory=list)
    score: int = 0
    matched: str = ""  # the part of the message that named the place


@dataclass(frozen=True)
class _Alias:
    text: str  # as written in the data
    place: str  # place key: town id, province code or region slug
    weak: bool
    tokens: int


@dataclass
class _Hit:
    place: str
    score: float
    start: int
    end: int
    alias: _Alias


def phonetic(text: str) -> str:
    """A spelling-insensitive key of already-normalised text ('9niTra' and 'kenitra' get close)."""
    text = _APOSTROPHES.sub("", text)
    if _ARABIC.search(text):
        # Final ة (folded to ه) is often typed ا ('تازا', 'طنجا'). No doubled-letter folding:
        # Arabic script does not double letters, so a double is a typo.
        text = re.sub("ه(?![\u0621-\u064a])", "ا", text)
        return re.sub("[^\u0621-\u064a]", "", text).replace("ء", "")
    text = _LATIN_SOUND_RE.sub(lambda m: _LATIN_SOUND_MAP[m.group(0)], text)
    return _DOUBLES.sub(r"\1", re.sub("[^a-z]", "", text))


def skeleton(key: str) -> str:
    """Consonants of a Latin phonetic key: Darija drops vowels ('mknas' ~ 'meknes')."""
    return _DOUBLES.sub(r"\1", _VOWELS.sub("", key))


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(_APOSTROPHES.sub("", normalize(text)))


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def _fuzzy_cutoff(length: int, arabic: bool) -> float | None:
    """Minimum ratio for a span whose phonetic key has this length (short keys: exact only).

    Arabic keys carry no short vowels, so one wrong letter weighs more: stricter cut-offs."""
    if arabic:
        return None if length <= 4 else 88 if length <= 7 else 84
    if length <= 3:
        return None
    if length == 4:
        return 88
    if length == 5:
        return 85
    if length <= 7:
        return 82
    return 78


class Gazetteer:
    """Towns, provinces and regions of Morocco with every spelling people text."""

    def __init__(self, places: dict[str, Place], aliases: list[_Alias], words: dict) -> None:
        self.places = places
        self._alias_list = aliases
        self._towns = [p for p in places.values() if p.kind == "town"]
        self._locatives: set[str] = words["locatives"]
        self._fillers: set[str] = words["fillers"]
        self._articles: set[str] = words["articles"]
        self._common: set[str] = words["common"]
        self._exact: dict[str, list[_Alias]] = {}
        self._phon: dict[str, list[_Alias]] = {}
        self._skel: dict[str, list[_Alias]] = {}
        for alias in aliases:
            spaced = " ".join(tokenize(alias.text))
            key = phonetic(spaced)
            self._exact.setdefault(spaced, []).append(alias)
            self._phon.setdefault(key, []).append(alias)
            if not alias.weak and not _ARABIC.search(key) and len(skeleton(key)) >= 3:
                self._skel.setdefault(skeleton(key), []).append(alias)
        # Fuzzy choices: one list per script, weak aliases left out.
        self._fuzzy: dict[bool, list[str]] = {True: [], False: []}
        for key, recs in self._phon.items():
            if any(not r.weak for r in recs):
                self._fuzzy[bool(_ARABIC.search(key))].append(key)
        self._weak_keys = {phonetic(" ".join(tokenize(a.text))) for a in aliases if a.weak}
        self._max_tokens = max(a.tokens for a in aliases)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> "Gazetteer":
        data_dir = Path(data_dir)
        regions = _read_csv(data_dir / "regions.csv")
        provinces = _read_csv(data_dir / "provinces.csv")
        towns = _read_csv(data_dir / "towns.csv")
        alias_doc = _load_yaml(data_dir / "aliases.yml")
        words_doc = _load_yaml(data_dir / "common_words.yml")

        province_by_code = {p["code"]: p for p in provinces}
        places: dict[str, Place] = {}
        for r in regions:
            places[r["slug"]] = Place(r["slug"], "region", r["name_fr"], r["name_ar"], None, None, r["slug"], None, None)
        for p in provinces:
            is_arrondissements = bool(p["parent_code"])
            places[p["code"]] = Place(
                id=p["code"],
                kind="province",
                name_fr=p["name_fr"],
                name_ar=p["name_ar"],
                town=p["seat_fr"] if is_arrondissements else None,
                province=p["name_fr"],
                region=p["region"],
                lat=float(p["lat"]),
                lng=float(p["lng"]),
                code=p["code"],
                province_code=p["code"],
                precision="city" if is_arrondissements else "province_seat",
            )
        for t in towns:
            places[t["id"]] = Place(
                id=t["id"],
                kind="town",
                name_fr=t["name_fr"],
                name_ar=t["name_ar"],
                town=t["name_fr"],
                province=province_by_code[t["province_code"]]["name_fr"],
                region=t["region"],
                lat=float(t["lat"]),
                lng=float(t["lng"]),
                code=t["code"],
                province_code=t["province_code"],
                precision="town",
            )

        words = _word_sets(words_doc)
        weak = {" ".join(tokenize(w)) for w in words_doc.get("weak_aliases") or []}
        blocked = {" ".join(tokenize(w)) for w in words_doc.get("blocked_aliases") or []}
        # Official names also count without their article ('Jadida', 'جديدة'); curated and
        # DODa spellings are taken as written.
        raw: list[tuple[str, str]] = []
        for place in places.values():
            for name in (place.name_fr, place.name_ar):
                raw += [(variant, place.id) for variant in _article_variants(name, words["articles"])]
        for section in ("curated", "doda"):
            for key, spellings in (alias_doc.get(section) or {}).items():
                if str(key) not in places:
                    raise ValueError(f"aliases.yml: {section}.{key} is not a town id, province code or region slug")
                raw += [(str(s), str(key)) for s in spellings or []]

        # A spelling that sounds like a weak alias is weak too ('jjdida' like 'jdida').
        weak_keys = {phonetic(w) for w in weak}
        aliases: list[_Alias] = []
        seen: set[tuple[str, str]] = set()
        for text, key in raw:
            spaced = " ".join(tokenize(text))
            if not spaced or spaced in blocked or (text.strip().casefold(), key) in seen:
                continue
            seen.add((text.strip().casefold(), key))
            is_weak = spaced in weak or phonetic(spaced) in weak_keys
            aliases.append(_Alias(text, key, is_weak, len(spaced.split())))
        return cls(places, aliases, words)

    # ------------------------------------------------------------------ public API
    def aliases(self, include_weak: bool = True) -> list[str]:
        """Every alias string as written (both scripts), without duplicates."""
        out: dict[str, str] = {}
        for alias in self._alias_list:
            if alias.weak and not include_weak:
                continue
            text = alias.text.strip() if _ARABIC.search(alias.text) else alias.text.strip().lower()
            out.setdefault(text.casefold(), text)
        return sorted(out.values(), key=lambda s: (bool(_ARABIC.search(s)), s))

    def reverse(self, lat: float, lng: float) -> Place:
        """The town nearest to a point (a WhatsApp location pin)."""
        return min(self._towns, key=lambda t: haversine_km(lat, lng, t.lat, t.lng))

    def resolve(self, text: str) -> Resolution:
        tokens = _split_glued_article(tokenize(text))[:MAX_TOKENS]
        kinds = [self._token_kind(t) for t in tokens]
        hits = self._exact_hits(tokens, kinds)
        if not hits:
            # For fuzzy matching a weak alias is an ordinary word ("dar jdida" = a new house).
            kinds = ["common" if k == "word" and phonetic(t) in self._weak_keys else k for t, k in zip(tokens, kinds)]
            hits = self._fuzzy_hits(tokens, kinds)
        if not hits:
            return Resolution("unknown")
        return self._decide(hits, tokens)

    # ------------------------------------------------------------------ internals
    def _token_kind(self, token: str) -> str:
        if token.isdigit():
            return "fill"
        is_loc, is_art = token in self._locatives, token in self._articles
        if is_loc and is_art:
            return "artloc"  # "l": an article inside "dar l bida", a locative in "9rib l tanja"
        if is_loc:
            return "loc"
        if token in self._fillers:
            return "fill"
        if is_art:
            return "art"
        if token in self._common:
            return "common"
        return "word"

    def _spans(self, kinds: list[str]) -> Iterable[tuple[int, int]]:
        n = len(kinds)
        for i in range(n):
            if kinds[i] in ("loc", "fill"):
                continue
            for j in range(i + 1, min(n, i + self._max_tokens) + 1):
                if kinds[j - 1] in ("loc", "fill"):
                    break
                yield i, j

    def _in_context(self, tokens_kinds: list[str], start: int) -> bool:
        """Is the span at `start` introduced by a locative (skipping articles)?"""
        k = start - 1
        while k >= 0 and tokens_kinds[k] == "art":
            k -= 1
        return k >= 0 and tokens_kinds[k] in ("loc", "artloc")

    def _alone(self, kinds: list[str], start: int, end: int) -> bool:
        return all(k in ("loc", "fill", "art", "artloc") for idx, k in enumerate(kinds) if not start <= idx < end)

    def _accept(self, alias: _Alias, score: float, located: bool, alone: bool) -> float | None:
        """Weak aliases ('safi', 'jdida', 'الداخلة') need a locative or a message of their own."""
        if not alias.weak:
            return min(100, score + 2 * located)
        if located:
            return min(score, 95)
        if alone:
            return min(score, 70)
        return None

    def _exact_hits(self, tokens: list[str], kinds: list[str]) -> list[_Hit]:
        hits: list[_Hit] = []
        for i, j in self._spans(kinds):
            located, alone = self._in_context(kinds, i), self._alone(kinds, i, j)
            rest = tokens[i + 1 : j]
            for first, stripped in _prefix_variants(tokens[i]):
                spaced = " ".join([first, *rest])
                for recs, score in ((self._exact.get(spaced), 100), (self._phon.get(phonetic(spaced)), 97)):
                    for alias in recs or []:
                        got = self._accept(alias, score - (1 if stripped else 0), located or stripped, alone)
                        if got is not None:
                            hits.append(_Hit(alias.place, got, i, j, alias))
                    if recs:
                        break
        return hits

    def _fuzzy_hits(self, tokens: list[str], kinds: list[str]) -> list[_Hit]:
        hits: list[_Hit] = []
        for i, j in self._spans(kinds):
            span_kinds = kinds[i:j]
            if "word" not in span_kinds or span_kinds[0] in ("art", "artloc") or span_kinds[-1] in ("art", "artloc"):
                continue
            located = self._in_context(kinds, i)
            lone = all(k != "word" for idx, k in enumerate(kinds) if not i <= idx < j)
            for first, stripped in _prefix_variants(tokens[i], latin=False):
                key = phonetic(" ".join([first, *tokens[i + 1 : j]]))
                arabic = bool(_ARABIC.search(key))
                cutoff = _fuzzy_cutoff(len(key), arabic)
                if cutoff is None or key in self._weak_keys:
                    continue
                found = process.extract(key, self._fuzzy[arabic], scorer=fuzz.ratio, score_cutoff=cutoff - 2, limit=4)
                scored = [(choice, score) for choice, score, _ in found]
                if not arabic:
                    for alias in self._skel.get(skeleton(key), []):
                        if alias.tokens == j - i:
                            scored.append((phonetic(" ".join(tokenize(alias.text))), 88.0))
                for choice, score in scored:
                    score += 2 * (located or stripped)
                    # A loose spelling inside a sentence is trusted only when a locative
                    # introduces it or nothing else in the message looks like a name.
                    if score < cutoff or (score < 92 and not (located or stripped or lone)):
                        continue
                    for alias in self._phon[choice]:
                        if not alias.weak:
                            hits.append(_Hit(alias.place, min(score, 96), i, j, alias))
        return hits

    def _decide(self, hits: list[_Hit], tokens: list[str]) -> Resolution:
        # Best hit per place; then keep those close to the best.
        best: dict[str, _Hit] = {}
        for hit in hits:
            cur = best.get(hit.place)
            if cur is None or (hit.score, hit.end - hit.start) > (cur.score, cur.end - cur.start):
                best[hit.place] = hit
        ranked = sorted(best.values(), key=lambda h: (-h.score, -(h.end - h.start), h.start, KIND_RANK[self.places[h.place].kind]))
        top = ranked[0]
        margin = 0 if top.score >= 97 else 2
        close = [h for h in ranked if h.score >= top.score - margin]
        # A longer exact span beats a shorter one inside it ("sidi slimane echcharaa").
        longest = max(h.end - h.start for h in close)
        close = [h for h in close if h.end - h.start == longest or not _inside(h, close)]
        places = _most_specific([self.places[h.place] for h in close], self)
        matched = " ".join(tokens[top.start : top.end])
        score = int(round(min(top.score, 100)))
        if len(places) == 1:
            return Resolution("found", places[0], [], score, matched)
        return Resolution("ambiguous", None, places[:MAX_CANDIDATES], score, matched)

    def contains(self, outer: Place, inner: Place) -> bool:
        """Is `inner` part of `outer` (town in province or region, arrondissements in Casablanca)?"""
        if outer.id == inner.id:
            return False
        if outer.kind == "region":
            return inner.region == outer.id
        if outer.kind == "province":
            if inner.kind == "town":
                return inner.province_code == outer.code
            return (inner.code or "").startswith(outer.code + ".")
        if outer.kind == "town" and inner.kind == "province" and inner.precision == "city":
            # Casablanca's prefectures of arrondissements are inside the town of Casablanca.
            return inner.town == outer.name_fr and inner.region == outer.region
        return False


def _inside(hit: _Hit, others: list[_Hit]) -> bool:
    return any(o is not hit and o.start <= hit.start and hit.end <= o.end and (o.end - o.start) > (hit.end - hit.start) for o in others)


def _most_specific(places: list[Place], gaz: Gazetteer) -> list[Place]:
    """Drop a place when another candidate lies inside it; keep the order."""
    unique = list(dict.fromkeys(places))
    return [p for p in unique if not any(gaz.contains(p, q) for q in unique)]


def _split_glued_article(tokens: list[str]) -> list[str]:
    """'ana fl bida' -> 'ana f lbida': Darija glues the article to the preposition."""
    out: list[str] = []
    glue = False
    for tok in tokens:
        if glue and not _ARABIC.search(tok):
            tok = "l" + tok
        glue = tok in ("fl", "bl", "ml", "mnl")
        out.append(tok[:-1] if glue else tok)
    return out


def _prefix_variants(token: str, latin: bool = True) -> list[tuple[str, bool]]:
    """The token and what is left when a glued preposition is removed ('فالرباط', 'fcasa').

    The bool says a prefix was stripped (a locative: ف/ب/ل or f/l/b)."""
    out = [(token, False)]
    if _ARABIC.search(token):
        stems = [token[1:]] if token[0] == "و" and len(token) > 3 else []
        stems.append(token)
        for stem in stems:
            if len(stem) > 3 and (stem[0] in _ARABIC_PREFIXES[1:] or stem.startswith("دال")):
                out.append((stem[1:], True))
                if stem.startswith("لل"):
                    out.append(("ال" + stem[2:], True))
            if stem is not token:
                out.append((stem, False))
    elif latin and len(token) > 3 and token[0] in _LATIN_PREFIXES:
        out.append((token[1:], True))
        if len(token) > 4 and token[1] in _LATIN_PREFIXES:
            out.append((token[2:], True))
    return out


def _article_variants(text: str, articles: set[str]) -> list[str]:
    """'El Jadida' -> ['El Jadida', 'Jadida']; 'الجديدة' -> ['الجديدة', 'جديدة']."""
    out = [text]
    tokens = tokenize(text)
    if len(tokens) > 1 and tokens[0] in articles and not _ARABIC.search(tokens[0]):
        out.append(" ".join(tokens[1:]))
    elif tokens and tokens[0].startswith("ال") and len(tokens[0]) > 4:
        out.append(" ".join([tokens[0][2:], *tokens[1:]]))
    return out


def _word_sets(doc: dict) -> dict[str, set[str]]:
    def flat(section: str) -> set[str]:
        value = doc.get(section) or {}
        items = [w for group in value.values() for w in group] if isinstance(value, dict) else list(value)
        return {tok for w in items for tok in tokenize(str(w))}

    return {name: flat(name) for name in ("locatives", "fillers", "articles", "common")}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _load_yaml(path: Path) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader) or {}


# ---------------------------------------------------------------------- command line
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
    parser = argparse.ArgumentParser(prog="python -m actions.places", description="Salama place lookup")
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
