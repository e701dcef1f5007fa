"""The gazetteer: resolve the place a woman names in a message (any script, any spelling) to the gazetteer.

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

import csv
from pathlib import Path
from typing import Iterable

import yaml
from rapidfuzz import fuzz, process

from core.places.model import Place, Resolution, _Alias, _Hit, haversine_km
from core.places.text import (
    _ARABIC,
    KIND_RANK,
    MAX_CANDIDATES,
    MAX_TOKENS,
    _article_variants,
    _fuzzy_cutoff,
    _prefix_variants,
    _split_glued_article,
    phonetic,
    skeleton,
    tokenize,
)

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data" / "places"
LOOKUP_PATH = ROOT / "data" / "nlu" / "lookups" / "place.yml"


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
    def load(cls, data_dir: Path = DATA_DIR) -> Gazetteer:
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
