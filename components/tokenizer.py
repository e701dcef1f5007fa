"""Whitespace tokenizer whose lemmas are normalised (accents, Arabic letter variants)."""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from core.textnorm import normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class NormalizingTokenizer(WhitespaceTokenizer):
    """Featurizers read `token.lemma` (use_lemma defaults to true): giving them the
    normalised form makes "Fès"/"fes", "إمرأة"/"امراه" and "salaaaam"/"salaam" one feature,
    while token text and offsets stay as written (entities keep her spelling)."""

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = normalize(token.text)
        return tokens
