"""Character n-grams of each word's consonant skeleton (core/skeleton.py), beside the words'.

A CountVectorsFeaturizer that reads, for the message text, the skeletons of its tokens instead
of the lemmas themselves: "kaydrebni", "kaydrabni" and "كيضربني" all give "kdrbn". Intents and actions
are featurised as by the parent class.
"""
from __future__ import annotations

from typing import List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from core.skeleton import skeleton


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SkeletonFeaturizer(CountVectorsFeaturizer):
    def _get_message_tokens_by_attribute(self, message: Message, attribute: Text) -> List[Text]:
        if attribute != TEXT:
            return super()._get_message_tokens_by_attribute(message, attribute)
        # One entry per token (a lemma the speller split is two words), even empty, so that the sequence features line up with the others.
        return [" ".join(skeleton(part) for part in token.lemma.split()) for token in message.get(TOKENS_NAMES[attribute]) or []]
