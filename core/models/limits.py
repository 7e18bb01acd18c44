"""Confidence thresholds of the churn scores, apart from the models so that a page can quote them
without importing scikit-learn."""

from __future__ import annotations

from typing import Final

#: AUC below which a model's scores are at most medium confidence.
WEAK_AUC: Final = 0.75
#: Labelled customers (at the latest labelled date) below which a store's scores are at most
#: medium confidence: its own history alone could not validate the model.
SMALL_STORE_ROWS: Final = 500
