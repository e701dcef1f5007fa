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
