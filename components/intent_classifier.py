"""Intent classifier: TF-IDF-weighted sentence features and a linear model trained by SGD.

Rasa's LogisticRegressionClassifier fits raw counts with lbfgs: with word, character and
skeleton n-grams (about 60,000 columns) it needed four minutes to train on 2 cores and
weighted a frequent n-gram like a rare one. Here the same sparse sentence features are
weighted by sublinear TF-IDF and scaled to unit length, then a logistic model is trained by
stochastic gradient descent (seeded, so a retrain on the same data gives the same model).
Measured in `make eval` (README, "Understanding"): 3-fold cross-validation and held-out
figures for both, and the training time.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from scipy.sparse import csr_matrix
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline

# What a saved classifier may contain (skops refuses anything else on load).
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TfidfSGDClassifier(LogisticRegressionClassifier):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**LogisticRegressionClassifier.get_default_config(),
                "alpha": 1e-5, "epochs": 50, "random_state": 42}

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage,
                 resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self._weights: Optional[np.ndarray] = None
        self.clf = Pipeline([
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
            ("sgd", SGDClassifier(loss="log_loss", alpha=self.config["alpha"], class_weight="balanced",
                                  max_iter=self.config["epochs"], random_state=self.config["random_state"])),
        ])

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        """The messages' sparse sentence features, one block per featurizer side by side, a
        row per message (a message without them gets a row of zeros). Rasa's own version also
        combines every token's sequence features (deep copies) only to drop them: that was half
        of this component's training time. The rows are assembled from the blocks' entries:
        scipy's hstack of vstacks took 0.38 ms a message, this 0.05 (tests/test_intent_classifier.py
        checks both give the same matrix)."""
        per_message = [[f.features for f in message.features
                        if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()]
                       for message in messages]
        widths = [block.shape[1] for block in max(per_message, key=len)]
        offsets = np.cumsum([0] + widths[:-1])
        data: List[np.ndarray] = []
        columns: List[np.ndarray] = []
        indptr = [0]
        for blocks in per_message:
            count = 0
            if len(blocks) == len(widths):
                for offset, block in zip(offsets, blocks):
                    block = block.tocoo()
                    columns.append(block.col + offset)
                    data.append(block.data)
                    count += block.nnz
            indptr.append(indptr[-1] + count)
        X = csr_matrix((np.concatenate(data) if data else np.zeros(0),
                        np.concatenate(columns) if columns else np.zeros(0, dtype=np.int32), indptr),
                       shape=(len(messages), sum(widths)))
        X.sum_duplicates()
        return X

    def train(self, training_data: TrainingData) -> Resource:
        self._weights = None  # derived from the model being replaced
        return super().train(training_data)

    def probabilities(self, X: csr_matrix) -> np.ndarray:
        """The same numbers as the pipeline's predict_proba (one-vs-rest logistic scores,
        normalised), with the weights kept as one contiguous (features x intents) array:
        scikit-learn multiplies by a transposed view, which scipy copies on every call (20 ms
        a message with 90,000 features)."""
        sgd = self.clf.named_steps["sgd"]
        if self._weights is None:
            self._weights = np.ascontiguousarray(sgd.coef_.T)
        scores = np.asarray(self.clf.named_steps["tfidf"].transform(X) @ self._weights) + sgd.intercept_
        expit(scores, out=scores)
        return scores / scores.sum(axis=1, keepdims=True)

    def process(self, messages: List[Message]) -> List[Message]:
        if not messages:
            return messages
        probas = self.probabilities(self._create_X(messages))
        intents = self.clf.classes_
        for message, row in zip(messages, probas):
            ranking = sorted(({"name": name, "confidence": float(p)} for name, p in zip(intents, row)),
                             key=lambda e: -e["confidence"])
            message.set("intent", ranking[0], add_to_output=True)
            if self.config[RANKING_LENGTH] > 0:
                ranking = ranking[: self.config[RANKING_LENGTH]]
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> TfidfSGDClassifier:
        import skops.io as sio

        component = cls(config, execution_context.node_name, model_storage, resource)
        with model_storage.read_from(resource) as model_dir:
            path = model_dir / f"{resource.name}.skops"
            types: List[str] = sio.get_untrusted_types(file=path)
            refused = [t for t in types if not t.startswith(TRUSTED_PREFIXES)]
            if refused:  # a model this project did not train: refuse to serve it
                raise ValueError(f"refused types in the saved intent classifier: {refused}")
            component.clf = sio.load(path, trusted=types)
        return component
