"""NLU component: a message made only of words never seen in training goes to nlu_fallback."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.spelling import CORRECTIONS
from core.places.gazetteer import Gazetteer
from core.textnorm import normalize

FALLBACK = "nlu_fallback"
VOCABULARY_FILE = "vocabulary.json"
# Latin spellings that sound alike are one skeleton: vowels dropped, Arabizi digits and
# their letter spellings unified, doubled letters once ("wakhaa" = "wkha" = "wa5a").
_LATIN_SOUNDS = [("kh", "5"), ("sh", "x"), ("ch", "x"), ("gh", "4"), ("q", "9"), ("7", "h")]
_LATIN_VOWELS = re.compile(r"[aeiouy]")
# Arabic long vowels and hamza carriers are often dropped or added in texting.
_ARABIC_VOWELS = re.compile("[اويىء]")
_DOUBLES = re.compile(r"(.)\1+")
# A word has at least one letter; Arabizi digits count as letters inside it ("wa5a", "3afak").
_WORD = re.compile(r"[^\W_]*[^\W\d_][^\W_]*")


@lru_cache(maxsize=1)
def _gazetteer() -> Gazetteer:
    return Gazetteer.load()


def skeleton(word: str) -> str:
    """The spelling-insensitive key of a normalised word."""
    for old, new in _LATIN_SOUNDS:
        word = word.replace(old, new)
    word = _ARABIC_VOWELS.sub("", _LATIN_VOWELS.sub("", word))
    return _DOUBLES.sub(r"\1", word)


def words(text: str) -> List[str]:
    """The normalised words of a text that can be judged (letters, at least two)."""
    return [w for w in _WORD.findall(normalize(text)) if len(w) > 1]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsGuard(GraphComponent):
    """Runs after the classifier: when none of her words (by spelling skeleton) was ever
    seen in the training data or the lookup tables, the classifier's answer is a guess
    ("zkfjh" was `affirm` at 0.53, which could confirm an erasure), so the message becomes
    `nlu_fallback`. `inform_location` is kept when the gazetteer knows the word, or one near
    it (a village the training data never named). A message whose words the speller read as known words
    (components/spelling.py) is not gibberish. Payloads ("/affirm") and messages without letters
    (digits, emoji) are left alone."""

    def __init__(self, model_storage: ModelStorage, resource: Resource, known: Optional[set] = None) -> None:
        self._storage = model_storage
        self._resource = resource
        self._known = known or set()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> UnknownWordsGuard:
        return cls(model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> UnknownWordsGuard:
        try:
            with model_storage.read_from(resource) as directory:
                known = set(json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8")))
        except ValueError:  # no vocabulary persisted (component never trained)
            known = set()
        return cls(model_storage, resource, known)

    def train(self, training_data: TrainingData) -> Resource:
        texts = [m.get(TEXT) for m in training_data.intent_examples if m.get(TEXT)]
        texts += [element for table in training_data.lookup_tables for element in table.get("elements", [])]
        self._known = {skeleton(w) for text in texts for w in words(text)}
        with self._storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(sorted(self._known), ensure_ascii=False),
                                                     encoding="utf-8")
        return self._resource

    def is_unknown(self, text: str) -> bool:
        """True when the text has words and none of them is known."""
        found = words(text)
        return bool(found) and not any(skeleton(w) in self._known for w in found)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            intent = (message.get(INTENT) or {}).get("name")
            if not text or text.startswith("/") or intent is None:
                continue
            if self.is_unknown(text) and not message.get(CORRECTIONS) and not (
                    intent == "inform_location" and _gazetteer().resolve(text).status != "unknown"):
                message.set(INTENT, {"name": FALLBACK, "confidence": 1.0}, add_to_output=True)
                ranking = message.get(INTENT_RANKING_KEY) or []
                message.set(INTENT_RANKING_KEY, [{"name": FALLBACK, "confidence": 1.0}] + ranking,
                            add_to_output=True)
        return messages
