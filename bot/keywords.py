"""The one place that decides what a keyword means. Keywords work in every state of a
conversation (with the bot, waiting for or talking with a counsellor, Rasa down, rate
limited): she must always be able to stop, leave in a hurry or erase."""
from __future__ import annotations

from enum import Enum
from typing import Optional

# Twilio's standard opt-out and opt-in keywords, plus French ones.
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "arret", "arrêt", "optout"}
START_WORDS = {"start", "unstop", "yes", "demarrer", "démarrer"}
HELP_WORDS = {"help", "info", "aide", "مساعدة", "مساعده", "3awni", "l3awn"}
BOT_WORDS = {"bot", "robot", "روبو", "روبوت", "lbot", "assistant", "assistante"}
ERASE_WORDS = {"mse7", "ms7", "msse7", "mseh", "مسح", "امسح", "effacer", "efface", "supprimer"}
# Answers to the erase confirmation besides "1" and "2" (the words of its options).
YES_WORDS = {"1", "ah", "iyeh", "iyah", "wah", "oui", "نعم", "ايه", "إيه", "اه", "آه", "yes"}
NO_WORDS = {"2", "la", "non", "لا", "no"}
# Payloads the gateway keeps behind "1" and "2" while it asks her to confirm an erasure.
ERASE_YES, ERASE_NO = "salama:erase", "salama:keep"
_TRIM = " \t\r\n.!?؟،,;:…"


class Keyword(Enum):
    STOP = "stop"
    START = "start"
    QUICK_EXIT = "quick_exit"
    ERASE = "erase"
    HELP = "help"
    BOT = "bot"


def word_of(body: str) -> str:
    """Her message as one lowercased word without surrounding punctuation ("Mse7 !" -> "mse7")."""
    return body.strip().lower().strip(_TRIM)


def keyword(word: str, quick_exit_word: str) -> Optional[Keyword]:
    """What `word` (from word_of) means, whatever the conversation's state; BOT is a keyword
    only during a handoff (the caller decides)."""
    if word == quick_exit_word.lower():
        return Keyword.QUICK_EXIT
    if word in STOP_WORDS:
        return Keyword.STOP
    if word in START_WORDS:
        return Keyword.START
    if word in ERASE_WORDS:
        return Keyword.ERASE
    if word in HELP_WORDS:
        return Keyword.HELP
    if word in BOT_WORDS:
        return Keyword.BOT
    return None


def erase_answer(word: str, options: list[str]) -> Optional[bool]:
    """True/False when she answers the pending erase confirmation, None when none is pending
    or her message is something else (then the confirmation lapses)."""
    if options[:2] != [ERASE_YES, ERASE_NO]:
        return None
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None
