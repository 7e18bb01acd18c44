"""Predictive models: churn risk / P(alive) / expected visits, no-show risk, demand forecast.

Each model is proven against a baseline on data it did not see (splits by time):

- :mod:`core.models.bgnbd` — BG/NBD by maximum likelihood (the churn baseline);
- :mod:`core.models.churn` — gradient boosting on behavioural features (:mod:`core.models.features`),
  backtested against BG/NBD, with an adapter for :func:`core.scoring.score_customers`;
- :mod:`core.models.reasons` — reason codes (keys + parameters) for at-risk customers;
- :mod:`core.models.noshow` — no-show risk per upcoming booking, suggested actions;
- :mod:`core.models.forecast` — Prophet demand forecast per store vs. seasonal naive;
- :mod:`core.models.evaluation` — the model page's metrics and ``ai_accuracy``.

Submodules are imported lazily by callers (Prophet is heavy), so this package imports nothing.
"""
