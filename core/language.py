"""Detect the variety a message is written in (dar_ar, dar_lat, ar, fr), sticky across turns."""
from __future__ import annotations

import re
from typing import Optional

from core.textnorm import fold_arabic, fold_latin

VARIETIES = ("dar_ar", "dar_lat", "ar", "fr")
DEFAULT = "dar_ar"

_ARABIC_LETTER = re.compile("[\u0621-\u064a\u067e\u06a4\u06a9\u06af\u06ad]")
_LATIN_LETTER = re.compile("[a-zA-Z\u00c0-\u024f]")
_WORD = re.compile(r"[\w']+", re.UNICODE)

# Words that mark Darija or MSA in Arabic script (folded: ة->ه, أ->ا, ى->ي).
_DARIJA_AR = set(
    fold_arabic(w)
    for w in ["ديال", "ديالي", "ديالك", "ديالو", "واش", "فين", "كيفاش", "علاش", "شنو", "شنا", "اشنو", "اش", "بغيت", "بغيتي", "بغا", "كنبغي", "دابا", "راجلي", "راجل", "مرتي", "حتى", "شي", "بزاف", "غادي", "غانمشي", "غنمشي", "ماشي", "ماعرفتش", "معرفتش", "عافاك", "هادشي", "هاد", "هادي", "هداك", "ديك", "داك", "كيضربني", "كيضربني", "كيسبني", "كايضربني", "تيضربني", "خويا", "ختي", "بابا", "ماما", "مزيان", "واخا", "صافي", "راه", "راني", "راك", "راكي", "كاين", "كاينه", "كاينين", "مكاينش", "والو", "بلا", "بحال", "نمشي", "نهضر", "هضر", "مسح", "امسح", "كلشي", "كولشي", "ليا", "ليك", "ليه", "عندي", "عندو", "خاصني", "خصني", "باغي", "باغيه", "قلبي", "ضربني", "سبني", "طردني", "عتقوني", "عتقني", "فلوسي", "دروك", "دغيا", "بسرعه", "شحال", "فوقاش", "منين", "حيت", "حيث", "نتا", "نتي", "نتوما", "حنا", "هوما", "لا", "لالا", "ايه", "اه", "ايوا", "يالاه", "مابقيتش", "بقيت", "ولا", "كنخاف", "خايفه"]
)
_MSA = set(
    fold_arabic(w)
    for w in ["أريد", "اريد", "ماذا", "لماذا", "كيف", "أين", "اين", "هل", "الذي", "التي", "زوجي", "يضربني", "يشتمني", "أستطيع", "استطيع", "لا", "أعرف", "أعرف", "أحتاج", "احتاج", "يمكنني", "يمكن", "أرجو", "ارجو", "من", "فضلك", "مساعدة", "المساعدة", "أخاف", "اخاف", "إنه", "انه", "لقد", "قد", "سوف", "ليس", "لست", "أنا", "أنت", "نحن", "هذا", "هذه", "ذلك", "تلك", "عندما", "الآن", "الان", "حيث", "إلى", "الى", "منزل", "المنزل", "البيت", "أذهب", "اذهب", "أتحدث", "اتحدث", "مستشارة", "جزيلا"]
) - _DARIJA_AR

_DARIJA_LAT = set(
    ["wach", "wax", "wash", "was", "fin", "fen", "feen", "kifach", "kifash", "kifax", "3lach", "3lash", "chno", "chnou", "achno", "ach", "bghit", "bghyt", "bghina", "bghiti", "dyal", "dial", "dyali", "dyalek", "diali", "dyalo", "daba", "dba", "drk", "drwk", "rajli", "rajel", "zawji", "mrati", "bzaf", "bzzaf", "ghadi", "ghad", "ghadya", "machi", "mchi", "mashi", "ma3reftch", "ma3rftch", "3afak", "3fak", "3afakom", "hadchi", "had", "hadi", "hadak", "dik", "dak", "kaydrebni", "kaydrbni", "kidrbni", "kaysebni", "tayderbni", "khoya", "khti", "baba", "mama", "mzyan", "mzian", "wakha", "safi", "rah", "rani", "rak", "raki", "kayn", "kayen", "kain", "kaina", "makaynch", "walo", "bla", "b7al", "nmchi", "nhder", "nhdar", "mse7", "ms7", "kolchi", "koulchi", "liya", "lik", "lih", "3ndi", "3andi", "3ndo", "khasni", "khassni", "baghi", "bghiti", "9albi", "drebni", "drbni", "sebni", "tradni", "3te9ni", "3tqni", "flousi", "fin", "drouk", "daba", "deghya", "bsr3a", "ch7al", "fو9ach", "mnin", "7it", "nta", "nti", "ntoma", "7na", "homa", "la", "lla", "iyeh", "ih", "ewa", "ywa", "yallah", "mab9itch", "b9it", "wla", "kankhaf", "khayfa", "chokran", "choukran", "xokran", "shokran", "lah", "ykhlik", "baraka", "slm", "salam", "salamo", "3likom", "mar7ba", "labas", "bikhir", "hamdolah", "ana", "m3a", "m3ak", "wlad", "weldi", "bent", "bnti", "kayhdedni", "ghay9telni", "y9telni", "9telni", "khayef", "nta3", "ta3", "chi", "shi", "sh7al", "fach", "mnin", "3la", "7ta", "3ad", "tal", "ghir", "ghi", "hna", "tma"]
)
_FRENCH = set(
    ["je", "j", "jsuis", "jsp", "suis", "es", "est", "sommes", "êtes", "sont", "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses", "le", "la", "les", "un", "une", "des", "du", "de", "au", "aux", "et", "ou", "où", "mais", "donc", "car", "ne", "pas", "plus", "rien", "moi", "toi", "lui", "elle", "nous", "vous", "ils", "elles", "qui", "que", "quoi", "quand", "comment", "pourquoi", "mari", "femme", "enfants", "enfant", "maison", "frappe", "frapper", "battre", "bat", "violence", "violences", "aide", "aidez", "aider", "besoin", "veux", "voudrais", "peux", "pouvez", "faire", "fait", "dois", "parler", "bonjour", "bonsoir", "salut", "svp", "stp", "s'il", "plait", "merci", "beaucoup", "oui", "non", "d'accord", "avec", "sans", "pour", "dans", "sur", "chez", "centre", "police", "plainte", "droits", "peur", "j'ai", "j'habite", "c'est", "qu'il", "qu'elle", "n'ai", "n'est", "il", "va", "me", "m'a", "t'es", "ai", "avez", "avoir", "être", "quelqu'un"]
)
# One short word or a reaction must not flip the language of the conversation.
_NEUTRAL = set(
    ["ok", "okay", "oki", "okk", "👍", "merci", "thanks", "thx", "mrc", "chokran", "choukran", "shukran", "شكرا", "oui", "non", "ah", "la", "wakha", "واخا", "yes", "no", "bot", "robot", "روبو"]
)

# Explicit requests to switch ("en français", "b darija", "بالعربية").
_SWITCH = (
    (re.compile(r"\b(en )?fran[cç]ais\b|\bfrancais\b|\bparle[rz]? fr|\bfr svp\b|\bb ?lfransawiya\b|\bfransawi", re.I), "fr"),
    (re.compile(r"بالدارج|الدارجه|الدارجة|بالمغربي"), "dar_ar"),
    (re.compile(r"\bb ?(d)?darija\b|\bdarija\b|\bdarja\b|\ben darija\b", re.I), "dar_lat"),
    (re.compile(r"بالعربي|العربيه|العربية|بالفصحى|الفصحى"), "ar"),
    (re.compile(r"\b(en )?arabe\b|\bb ?l?3arbia\b|\bal ?3arabiya\b", re.I), "ar"),
)


def requested_variety(text: str) -> Optional[str]:
    """The variety she explicitly asks for, if the message is a request to switch."""
    for pattern, variety in _SWITCH:
        if pattern.search(text):
            return variety
    return None


def _scores(text: str) -> dict[str, float]:
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    scores = dict.fromkeys(VARIETIES, 0.0)
    if arabic:
        words = [fold_arabic(w) for w in _WORD.findall(text) if _ARABIC_LETTER.search(w)]
        dar = sum(1 for w in words if w in _DARIJA_AR or _darija_verb(w))
        msa = sum(1 for w in words if w in _MSA)
        share = arabic / (arabic + latin)
        scores["dar_ar"] += share * (1 + dar)
        scores["ar"] += share * (0.6 + msa)
    if latin:
        words = [fold_latin(w) for w in _WORD.findall(text.lower()) if _LATIN_LETTER.search(w) or re.search(r"[2-9]", w)]
        dar = sum(1 for w in words if w in _DARIJA_LAT or _arabizi(w))
        fr = sum(1 for w in words if w in _FRENCH)
        share = latin / (arabic + latin)
        scores["dar_lat"] += share * (0.5 + dar * 1.2)
        scores["fr"] += share * (0.5 + fr)
    return scores


def _darija_verb(word: str) -> bool:
    # Present-continuous prefixes كي/كن/كت/تي/كا ... ("كيضربني", "كنخاف") mark Darija.
    return len(word) >= 4 and word[:2] in {"كي", "كن", "كت", "كا", "تي", "تن"} and word not in _MSA


def _arabizi(word: str) -> bool:
    # Digits used as letters inside a word ("3afak", "y9telni", "7na") mark Arabizi.
    return bool(re.search(r"[a-z][2-9]|[2-9][a-z]", word))


def detect(text: str, previous: Optional[str] = None) -> str:
    """The variety to answer in. Keeps `previous` unless the message clearly says otherwise."""
    asked = requested_variety(text)
    if asked:
        return asked
    stripped = text.strip().lower()
    tokens = _WORD.findall(stripped)
    if previous in VARIETIES and (not tokens or all(t in _NEUTRAL or t.isdigit() for t in tokens)):
        return previous
    scores = _scores(text)
    best = max(scores, key=lambda variety: scores[variety])
    if scores[best] == 0:
        return previous if previous in VARIETIES else DEFAULT
    if previous in VARIETIES and len(tokens) <= 2:
        # A one- or two-word message only switches across scripts, not within one.
        same_script = {"dar_ar": "ar", "ar": "dar_ar", "dar_lat": "fr", "fr": "dar_lat"}
        if best == same_script[previous] and scores[best] - scores[previous] < 1.5:
            return previous
    if previous in VARIETIES and scores[previous] >= scores[best] - 1e-9:
        return previous
    return best
