"""``score`` and ``kpi`` commands of the CLI (DESIGN.md "Command line": a stable contract).

- ``python -m dashboard.cli score [--as-of DATE] [--horizon-days 90] [--model rule|auto] --out FILE.csv
  [--snapshot]``: one row per customer in scope; ``customer_id`` is the external id; the columns
  of :data:`core.columns.SCORE_COLUMNS` in that order, then extras; dates ISO. ``--snapshot`` also
  replaces that day's ScoreSnapshot rows (one transaction; re-running is harmless).
  Scores come from ``services.scoring`` (the path of every page and the worker), so by default
  (``--model rule``, the cadence rule) they are the numbers the pages show. ``--model auto``
  backtests the churn models on the scoped raw bookings (``core.models.churn.fit_churn_models``)
  and takes ``p_alive`` / ``churn_risk`` / ``expected_visits`` from the winner (the cadence rule
  when there is too little history). The last extras are ``churn_model``, ``confidence`` and
  ``reasons`` (JSON list of reason keys, at-risk customers).
- ``python -m dashboard.cli kpi [--as-of DATE] [--store CODE] --json``: the KPI board as JSON
  ``{"as_of", "stores", "kpis": {key: {value, numerator, denominator, low, high, previous_value,
  delta, target, target_met}}}`` (``services.kpis.report``: the same figures as the Overview and
  the Stores board; ``low``/``high`` bound the 95% interval).

``--as USER`` (global) scopes both to the user's stores; ``score`` needs the ``view`` and
``export`` permissions (``--snapshot`` also ``import``), ``kpi`` needs ``view``
(``dashboard.cli.common.COMMAND_PERMISSIONS``). The score CSV is written by the app's export
writer (:func:`core.export.to_csv_bytes`: UTF-8 with BOM, formula-like text prefixed ``'``) and
audited as an export. The default as-of day is the last day
with a completed visit the caller may see (never after today).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from core.columns import SCORE_COLUMNS
from core.scoring import SCORE_EXTRA_COLUMNS
from services.scoring import DEFAULT_MODEL, MODEL_SCORE_COLUMNS, MODELS

#: Extra columns written after SCORE_COLUMNS (personal data such as the name is left out).
#: The churn model's columns come last (``--model rule`` writes them too: cadence_rule, no reasons).
MODEL_CSV_COLUMNS = MODEL_SCORE_COLUMNS
CSV_EXTRA_COLUMNS = ("internal_id", *[c for c in SCORE_EXTRA_COLUMNS if c != "name"], *MODEL_CSV_COLUMNS)
SCORE_MODELS = MODELS


def _as_of(engine: Any, scope: Any, value: str | None) -> date:
    from dashboard.cli.common import CliError
    from db.engine import session_scope
    from db.score_repo import default_as_of

    if value:
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise CliError(f"--as-of must be a date like 2026-11-22, not {value!r}") from exc
    with session_scope(engine) as session:
        return default_as_of(session, scope=scope)


def score_csv_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """The CSV layout of a :func:`services.scoring.score_customers_for` result."""
    out = scores.rename(columns={"customer_id": "internal_id"}).copy()
    out["customer_id"] = out["external_id"].astype(str)
    out["next_due_date"] = pd.to_datetime(out["next_due_date"]).dt.strftime("%Y-%m-%d")
    opted = pd.to_datetime(out["opted_out_at"])
    out["opted_out_at"] = opted.dt.strftime("%Y-%m-%dT%H:%M:%S").where(opted.notna(), None)
    for column in ("rfm_segment", "rfm8_segment"):
        out[column] = out[column].where(~out[column].isin(["nan", "None", "<NA>"]), None)
    for column in ("p_alive", "churn_risk", "expected_visits", "revisit_window_days", "band_low", "band_high"):
        out[column] = out[column].astype(float).round(6)
    return out.loc[:, [*SCORE_COLUMNS, *CSV_EXTRA_COLUMNS]]


def _model_summary(run: Any) -> dict[str, Any]:
    """The churn model behind a :class:`services.scoring.ScoreRun`, with its backtest when fitted."""
    summary: dict[str, Any] = {"churn_model": run.chosen}
    report = run.report
    if report is not None:
        summary["fallback_reason"] = report.fallback_reason
        summary["backtest_auc"] = {
            m: (None if math.isnan(report.auc(m)) else round(report.auc(m), 4))
            for m in ("gbm", "bgnbd", "cadence_rule")
        }
    return summary


def cmd_score(args: argparse.Namespace) -> int:
    """Score every customer in scope and write the CSV (and optionally the day's snapshot)."""
    from core.export import to_csv_bytes
    from dashboard.cli.common import CliError, command_scope, open_engine
    from db.engine import session_scope
    from db.repo import record_audit
    from db.score_repo import write_snapshot
    from services.scoring import scoring_run

    if args.horizon_days <= 0:
        raise CliError("--horizon-days must be positive")
    engine = open_engine()
    scope = command_scope(engine, args.actor, "score --snapshot" if args.snapshot else "score")
    out = Path(args.out)
    if out.parent and not out.parent.exists():
        raise CliError(f"folder {out.parent} does not exist")
    day = _as_of(engine, scope, args.as_of)
    run = scoring_run(engine, scope, as_of=day, horizon_days=args.horizon_days, model=args.model)
    scores = run.scores
    result = _model_summary(run) if args.model != "rule" else {}
    # The app's export writer: UTF-8 with BOM, formula-like text (=HYPERLINK…, @SUM…, +cmd) quoted.
    csv_frame = score_csv_frame(scores)
    out.write_bytes(to_csv_bytes(csv_frame))
    with session_scope(engine) as session:
        stores = None if scope.store_ids is None else sorted(scope.store_ids)
        record_audit(
            session,
            actor=scope.actor,
            action="export",
            entity="score_csv",
            after={
                "kind": "score_csv",
                "format": "csv",
                "rows": int(len(csv_frame)),
                "stores": stores,
                "as_of": day.isoformat(),
            },
        )
    result = {"as_of": day.isoformat(), "customers": len(scores), "out": str(out), **result}
    if args.snapshot:
        if scope.store_ids is not None:
            result["snapshot"] = write_snapshot(engine, scores=scores, as_of=day, store_ids=scope.store_ids)
        else:
            result["snapshot"] = write_snapshot(engine, scores=scores, as_of=day)
    print(json.dumps(result, ensure_ascii=False), file=sys.stderr if args.quiet else sys.stdout)
    return 0


def cmd_kpi(args: argparse.Namespace) -> int:
    """Print the KPI board of the period ending on as-of (30 days) against the period before."""
    from core.scope import PermissionDenied
    from dashboard.cli.common import CliError, command_scope, open_engine
    from db import repo
    from db.engine import session_scope
    from services import kpis

    engine = open_engine()
    scope = command_scope(engine, args.actor, "kpi")
    day = _as_of(engine, scope, args.as_of)
    with session_scope(engine) as session:
        visible = {s.code: s.id for s in repo.list_stores(session, scope=scope)}
    if args.store:
        unknown = [code for code in args.store if code not in visible]
        if unknown:
            raise CliError(f"unknown store code(s) for this user: {', '.join(unknown)}")
        codes = list(dict.fromkeys(args.store))
    else:
        codes = sorted(visible)
    try:
        report = kpis.report(engine, scope, [visible[c] for c in codes], day, period_days=args.period_days)
    except PermissionDenied as exc:  # e.g. front desk: no figures (RELIABILITY 25)
        raise CliError(str(exc)) from exc
    payload = {"as_of": day.isoformat(), "stores": codes, "kpis": report}
    if args.json:
        print(json.dumps(payload, ensure_ascii=False))
    else:
        for key, values in payload["kpis"].items():
            value = values["value"]
            print(f"{key:32s} {'—' if value is None else f'{value:.4f}'}")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``score`` and ``kpi`` commands to the CLI's subparsers."""
    score = subparsers.add_parser("score", help="score every customer as of a day; write a CSV")
    score.add_argument("--as-of", default=None, help="scoring day (default: the last visit day)")
    score.add_argument("--horizon-days", type=int, default=90, help="horizon of churn_risk and expected_visits")
    score.add_argument("--out", required=True, help="CSV file to write")
    score.add_argument(
        "--model",
        choices=SCORE_MODELS,
        default=DEFAULT_MODEL,
        help="rule (default, the pages' numbers): the cadence rule; auto: the churn model that "
        "wins the backtest (cadence rule on too little data)",
    )
    score.add_argument("--snapshot", action="store_true", help="also replace that day's score snapshot")
    score.add_argument("--quiet", action="store_true", help="print the summary to stderr")
    score.set_defaults(handler=cmd_score)
    kpi = subparsers.add_parser("kpi", help="the KPI board as of a day")
    kpi.add_argument("--as-of", default=None, help="last day of the period (default: the last visit day)")
    kpi.add_argument("--store", action="append", default=None, metavar="CODE", help="store code (repeatable)")
    kpi.add_argument("--period-days", type=int, default=30, help="length of the period")
    kpi.add_argument("--json", action="store_true", help="print JSON")
    kpi.set_defaults(handler=cmd_kpi)
