"""NLU component: the emergency safety net, overriding the classifier on danger patterns."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from core.safety_net import SafetyNet

EMERGENCY = "emergency"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EmergencySafetyNet(GraphComponent):
    """Runs after the classifier and before the fallback classifier: a message matching a
    danger pattern (data/safety_net.yml) becomes `emergency` with confidence 1.0, so the
    emergency answer never depends on the model. The patterns are read when the model
    loads, so editing them needs no retraining."""

    def __init__(self, net: SafetyNet) -> None:
        self._net = net

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> EmergencySafetyNet:
        return cls(SafetyNet.load())

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):
                continue
            rule = self._net.match(text)
            if rule is None:
                continue
            classifier = (message.get(INTENT) or {}).get("name")
            top = {"name": EMERGENCY, "confidence": 1.0}
            ranking = [top] + [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != EMERGENCY]
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            # Kept for evaluation: which rule fired, and what the classifier had said.
            message.set("safety_net", {"rule": rule, "classifier": classifier}, add_to_output=True)
        return messages
