"""The service directory (data/services.yml): national lines, emergency numbers and local contact points.

Plain package: no Rasa imports and no work at import time. Every entry carries its source, the
date it was checked and how the fact is known; a phone number, address or opening hours that
is not sourced is null, and the bot then says so and refers to the national line 8350.

    python -m core.directory import CSV [--out data/services.yml]   # a partner's or the researched list
    python -m core.directory confirm ID --on DATE --by ORG [--phone N]
    python -m core.directory report                                  # coverage of the urban communes
    python -m core.directory nearest --lat LAT --lng LNG [--kind K] [--limit N]

docs/PLACES.md describes the CSV columns and what the bot says for each kind of fact.
"""
from core.directory.model import (
    BASES,
    CONFIDENCES,
    CONTACT_KINDS,
    DEFAULT_PATH,
    ENTRY_FIELDS,
    KINDS,
    MIGRANT_KINDS,
    NATIONAL_KINDS,
    PHONE_RE,
    PRECISIONS,
    REQUIRED_FIELDS,
    SHELTER_KINDS,
    Directory,
    Entry,
    age_status,
    max_age_years,
    normalize_phone,
)

__all__ = [
    "BASES", "CONFIDENCES", "CONTACT_KINDS", "DEFAULT_PATH", "ENTRY_FIELDS", "KINDS", "MIGRANT_KINDS",
    "NATIONAL_KINDS", "PHONE_RE", "PRECISIONS", "REQUIRED_FIELDS", "SHELTER_KINDS", "Directory", "Entry",
    "age_status", "max_age_years", "normalize_phone",
]
