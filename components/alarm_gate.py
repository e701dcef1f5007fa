"""NLU component: when the classifier alone may raise an alarm (emergency, report_violence)."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from core.safety_net import SafetyNet

ALARMS = ("emergency", "report_violence")
FALLBACK = "nlu_fallback"
RECORDED = 5


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class AlarmGate(GraphComponent):
    """Runs right after the classifier. An alarm the classifier predicts on its own stands
    only if its confidence reaches `threshold`, the message does not use violent words the
    ordinary way (`ordinary` in data/safety_net.yml: the sun or the cold "hitting", hitting
    or killing said with laughter) and, with `person_signal`, the message names
    a person affected (me, my husband, my daughter: data/safety_net.yml `person_affected`);
    otherwise the message becomes `nlu_fallback`, whose reply carries the emergency line.
    The safety net runs after this gate, so a danger pattern is an emergency whatever the
    gate decided. The classifier's own ranking is kept in the output (`classifier_ranking`,
    intent names and confidences only) so `make eval` can compare settings without
    retraining. Which setting is deployed is decided by the table `make eval` prints."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": 0.0, "person_signal": False}

    def __init__(self, config: Dict[Text, Any], net: SafetyNet) -> None:
        self._threshold = float(config["threshold"])
        self._person_signal = bool(config["person_signal"])
        self._net = net

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> AlarmGate:
        return cls(config, SafetyNet.load())

    def allows(self, text: str, confidence: float) -> bool:
        """Whether an alarm the classifier predicted with `confidence` stands."""
        if confidence < self._threshold or self._net.is_ordinary(text):
            return False
        return not self._person_signal or self._net.affects_a_person(text)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            intent = message.get(INTENT) or {}
            ranking = message.get(INTENT_RANKING_KEY) or []
            if not text or text.startswith("/"):
                continue
            message.set("classifier_ranking", [{"name": r.get("name"), "confidence": r.get("confidence")}
                                               for r in ranking[:RECORDED]], add_to_output=True)
            if intent.get("name") in ALARMS and not self.allows(text, float(intent.get("confidence") or 0.0)):
                message.set(INTENT, {"name": FALLBACK, "confidence": 1.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [{"name": FALLBACK, "confidence": 1.0}] + ranking,
                            add_to_output=True)
        return messages
