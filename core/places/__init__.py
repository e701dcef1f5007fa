"""Moroccan places: resolve the place a woman names in a message (any script, any spelling) to
the gazetteer of data/places. Plain modules: no Rasa import, no work at import time; load once
with `Gazetteer.load()`. docs/PLACES.md explains the lookup."""
from __future__ import annotations

from core.places.gazetteer import DATA_DIR, LOOKUP_PATH, Gazetteer
from core.places.model import Place, Resolution, haversine_km
from core.places.text import phonetic, skeleton, tokenize

__all__ = ["DATA_DIR", "LOOKUP_PATH", "Gazetteer", "Place", "Resolution", "haversine_km", "phonetic", "skeleton",
           "tokenize"]
