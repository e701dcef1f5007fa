"""NLU component: a word the training data never had is read as its nearest known spelling.

People type fast on a small keyboard: a letter dropped ("kaydrbni"), two swapped
("kaydrebin"), doubled, or a neighbouring key. Runs after the tokenizer and before the
featurizers: a token whose normalised form (its lemma) is not in the training vocabulary, and
is long enough to judge, takes the lemma of a known word. The candidates are the known words
within one edit (letters swapped count as one; two edits from 8 letters on) and those with the
same consonant skeleton (core/skeleton.py: vowels and merged letters aside), ranked by:
fewest edits; a letter on the key next to the typed one; her letters kept (two swapped:
"اكشرك" is "اشكرك", not "اشرك"); the same skeleton; the most frequent. So a word one slip
away beats one that only shares the skeleton ("الخبر" is "الخير", not "الخابار"). Failing
all, two known words glued together are read apart. A word the training data use mostly in
alarms (emergency, report_violence) is only reached on the stronger evidence, the same
skeleton or a neighbouring key: a letter added does not turn "الجده" (grandmother) into
"النجده" (rescue). A word that is known, short, or far from every known word is left alone,
and so are ties. The token's text and offsets stay as she wrote them (entities keep her
spelling); only the features change. Measured by `make eval` (the perturbed held-out copy and
the false alarms).
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any, Dict, List, Optional, Text

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.alarm_gate import ALARMS
from core.skeleton import skeleton

VOCABULARY_FILE = "spelling_vocabulary.json"
ALARM_WORDS_FILE = "spelling_alarm_words.json"
# Set on a message whose words were read as known words (the number of them): the unknown
# words guard (components/unknown_words.py) does not call such a message gibberish.
CORRECTIONS = "spelling_corrections"


def max_edits(word: str) -> int:
    """How far a word may be from its correction: none under 4 letters, then 1, 2 from 8."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


# Keys next to each other on the keyboards people text with (Arabic phone layout, AZERTY and
# QWERTY): a wrong letter next to the right one is the likeliest slip of the thumb.
_ROWS = ("ضصثقفغعهخحجد", "شسيبلاتنمكط", "ءؤرىةوزظ", "azertyuiop", "qsdfghjklm", "wxcvbn",
         "qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {(row[i], row[i + 1]) for row in _ROWS for i in range(len(row) - 1)}
_NEIGHBOURS |= {(b, a) for a, b in _NEIGHBOURS}


def _neighbour_slip(word: str, known: str) -> bool:
    """`word` is `known` with one letter typed on a key next to the right one."""
    if len(word) != len(known):
        return False
    diff = [(a, b) for a, b in zip(word, known) if a != b]
    return len(diff) == 1 and diff[0] in _NEIGHBOURS


def _script(word: str) -> str:
    return "arabic" if any("\u0600" <= ch <= "\u06ff" for ch in word) else "latin"


class Speller:
    """The training vocabulary (word -> count) and the nearest-known-word lookup."""

    def __init__(self, counts: Dict[str, int], alarm_words: frozenset = frozenset()) -> None:
        self.counts = counts
        self.alarm_words = alarm_words
        self._by_length: Dict[int, List[str]] = {}
        self._by_skeleton: Dict[tuple[str, str], List[str]] = {}
        for word in counts:
            self._by_length.setdefault(len(word), []).append(word)
            key = skeleton(word)
            if len(key) >= 2:
                self._by_skeleton.setdefault((_script(word), key), []).append(word)
        self._cache: Dict[str, Optional[str]] = {}

    def correct(self, word: str) -> Optional[str]:
        """The known word (or two known words, space between) to read instead of `word`, or
        None to keep it."""
        if word in self.counts or not any(ch.isalpha() for ch in word):
            return None
        if word not in self._cache:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[word] = self._best(word, self._same_skeleton(word) + self._nearest(word)) or self._split(word)
        return self._cache[word]

    def _best(self, word: str, candidates: List[str]) -> Optional[str]:
        """The first candidate by the module's ranking; None when the first two tie."""
        key, letters = skeleton(word), sorted(word)

        def rank(w: str) -> tuple:
            return (OSA.distance(word, w), not _neighbour_slip(word, w), sorted(w) != letters,
                    skeleton(w) != key, -self.counts[w])

        candidates = [w for w in set(candidates)
                      if w not in self.alarm_words or _neighbour_slip(word, w) or skeleton(w) == key]
        ranked = sorted((rank(w), w) for w in candidates)
        if not ranked or len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
            return None
        return ranked[0][1]

    def _same_skeleton(self, word: str) -> List[str]:
        """Known words with the same consonants, the vowels and merged letters aside
        ("bonswar" -> "bonsoir", "احدف" -> "احذف"), at most three letters longer or shorter."""
        key = skeleton(word)
        if len(word) < 3 or len(key) < 2:
            return []
        return [w for w in self._by_skeleton.get((_script(word), key), ()) if abs(len(w) - len(word)) <= 3]

    def _nearest(self, word: str) -> List[str]:
        """Known words within max_edits(word) edits (none for a short word)."""
        edits = max_edits(word)
        if not edits:
            return []
        pool = [w for n in range(len(word) - edits, len(word) + edits + 1) for w in self._by_length.get(n, ())]
        return [w for w, _, _ in extract(word, pool, scorer=OSA.distance, score_cutoff=edits, limit=None)]

    def _split(self, word: str) -> Optional[str]:
        """Two known words glued ("etapres" -> "et apres"): the first at least two letters,
        the second three, each seen at least three times; the split whose rarer word is the
        most frequent."""
        if len(word) < 5:
            return None
        splits = [(min(self.counts.get(word[:i], 0), self.counts.get(word[i:], 0)), word[:i], word[i:])
                  for i in range(2, len(word) - 2)]
        splits = [split for split in splits if split[0] >= 3]
        if not splits:
            return None
        _, left, right = max(splits)
        return f"{left} {right}"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class SpellingNormalizer(GraphComponent):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    def __init__(self, model_storage: ModelStorage, resource: Resource,
                 counts: Optional[Dict[str, int]] = None, alarm_words: frozenset = frozenset()) -> None:
        self._storage = model_storage
        self._resource = resource
        self.speller = Speller(counts or {}, alarm_words)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SpellingNormalizer:
        return cls(model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SpellingNormalizer:
        with model_storage.read_from(resource) as directory:
            counts = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
            alarms = directory / ALARM_WORDS_FILE  # (absent from a model trained before it)
            alarm_words = json.loads(alarms.read_text(encoding="utf-8")) if alarms.exists() else []
        return cls(model_storage, resource, counts, frozenset(alarm_words))

    def train(self, training_data: TrainingData) -> Resource:
        counts: Counter[str] = Counter()
        in_alarms: Counter[str] = Counter()
        for message in training_data.intent_examples:
            lemmas = [token.lemma for token in message.get(TOKENS_NAMES[TEXT]) or []]
            counts.update(lemmas)
            if message.get(INTENT) in ALARMS:
                in_alarms.update(lemmas)
        alarm_words = sorted(w for w, n in in_alarms.items() if 2 * n > counts[w])  # mostly in alarms
        self.speller = Speller(dict(counts), frozenset(alarm_words))
        with self._storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(dict(sorted(counts.items())), ensure_ascii=False),
                                                     encoding="utf-8")
            (directory / ALARM_WORDS_FILE).write_text(json.dumps(alarm_words, ensure_ascii=False), encoding="utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data  # every training word is in the vocabulary

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            corrections = 0
            for token in message.get(TOKENS_NAMES[TEXT]) or []:
                corrected = self.speller.correct(token.lemma)
                if corrected:
                    token.lemma = corrected
                    corrections += 1
            message.set(CORRECTIONS, corrections)
        return messages
