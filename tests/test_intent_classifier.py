"""The intent classifier (components/intent_classifier.py)."""
from __future__ import annotations


def test_classifier_probabilities_equal_scikit_learns() -> None:
    """The intent classifier's fast path gives predict_proba's numbers."""
    import numpy as np
    from scipy.sparse import csr_matrix

    from components.intent_classifier import TfidfSGDClassifier

    rng = np.random.default_rng(0)
    X = csr_matrix(rng.poisson(0.3, size=(60, 40)).astype(float))
    y = [f"intent_{i % 3}" for i in range(60)]
    clf = TfidfSGDClassifier({}, "clf", None, None)
    clf.clf.fit(X, y)
    assert np.allclose(clf.probabilities(X[:7]), clf.clf.predict_proba(X[:7]))


def test_feature_rows_equal_scipys_stacking() -> None:
    """The rows assembled from the featurizers' blocks are scipy's hstack of vstacks, for
    messages with features and for one without (a row of zeros)."""
    import numpy as np
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message
    from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack

    from components.intent_classifier import TfidfSGDClassifier

    rng = np.random.default_rng(1)
    widths = (30, 50, 20)

    def block(width: int) -> coo_matrix:
        cols = rng.choice(width, 6, replace=False)
        return coo_matrix((rng.integers(1, 4, 6).astype(float), (np.zeros(6, int), cols)), shape=(1, width))

    rows = [[block(w) for w in widths] for _ in range(4)]
    messages = []
    for blocks in rows + [[]]:
        message = Message(data={TEXT: "x"})
        for i, b in enumerate(blocks):
            message.add_features(Features(b, FEATURE_TYPE_SENTENCE, TEXT, f"featurizer{i}"))
        messages.append(message)
    expected = hstack([vstack([r[i] for r in rows] + [csr_matrix((1, w))]) for i, w in enumerate(widths)]).tocsr()
    found = TfidfSGDClassifier({}, "clf", None, None)._create_X(messages)
    assert found.shape == expected.shape == (5, 100)
    assert (found != expected).nnz == 0 and found[4].nnz == 0
