"""``members`` subcommands of the CLI: one person, one member.

- ``python -m dashboard.cli members duplicates [--json] [--min-score X]``: probable duplicate
  member cards (same phone, LINE id or email under different member numbers), best first; with
  ``--json`` one JSON list of ``{"member_a", "member_b", "score", "evidence", "stores", "visits",
  "group"}`` (member numbers as imported, evidence codes of :mod:`core.identity`).
- ``python -m dashboard.cli members merge KEEP_EXTERNAL_ID ABSORB_EXTERNAL_ID``: merge the second
  member into the first; prints ``{"merge_id", "keep", "absorb", "moved": {kind: rows}}``.
- ``python -m dashboard.cli members undo MERGE_ID``: put both members back; prints the same shape.

All three need the ``import`` permission (store managers and chain admins) and act within the
``--as`` user's stores; a refusal exits 2 with the reason and changes nothing.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def _run(args: argparse.Namespace, action: Any) -> int:
    from core.scope import PermissionDenied
    from dashboard.cli.common import CliError, command_scope, open_engine
    from db.merge_repo import MergeError

    engine = open_engine()
    scope = command_scope(engine, args.actor, f"members {args.members_command}")
    try:
        payload = action(engine, scope)
    except (PermissionDenied, MergeError) as exc:
        raise CliError(str(exc)) from exc
    if isinstance(payload, str):
        print(payload)
    else:
        print(json.dumps(payload, ensure_ascii=False))
    return 0


def _outcome(outcome: Any, keep: str, absorb: str) -> dict[str, Any]:
    return {"merge_id": outcome.merge_id, "keep": keep, "absorb": absorb, "moved": outcome.counts}


def cmd_duplicates(args: argparse.Namespace) -> int:
    """List probable duplicate members."""
    from services import members

    def action(engine: Any, scope: Any) -> Any:
        pairs = members.find_duplicates(engine, scope, min_score=args.min_score)
        rows = [
            {
                "member_a": r.external_id_a,
                "member_b": r.external_id_b,
                "score": float(r.score),
                "evidence": list(r.evidence),
                "stores": [r.store_code_a, r.store_code_b],
                "visits": [int(r.visits_a), int(r.visits_b)],
                "group": int(r.group),
            }
            for r in pairs.itertuples()
        ]
        if args.json:
            return rows
        if not rows:
            return "no probable duplicates"
        return "\n".join(
            f"{r['score']:.2f}  {r['member_a']} ({r['stores'][0]}) = {r['member_b']} "
            f"({r['stores'][1]})  {', '.join(r['evidence'])}"
            for r in rows
        )

    return _run(args, action)


def cmd_merge(args: argparse.Namespace) -> int:
    """Merge ABSORB into KEEP (both by member number)."""
    from db.merge_repo import MergeError
    from services import members

    def action(engine: Any, scope: Any) -> Any:
        keep = members.member_id(engine, scope, args.keep)
        absorb = members.member_id(engine, scope, args.absorb)
        for label, value in (("keep", keep), ("absorb", absorb)):
            if value is None:
                raise MergeError(f"member {getattr(args, label)!r} not found", code="not_found")
        outcome = members.merge_members(engine, scope, int(keep), int(absorb))  # type: ignore[arg-type]
        return _outcome(outcome, args.keep, args.absorb)

    return _run(args, action)


def cmd_undo(args: argparse.Namespace) -> int:
    """Undo a merge by its id."""
    from services import members

    def action(engine: Any, scope: Any) -> Any:
        outcome = members.undo_merge(engine, scope, args.merge_id)
        merges = members.list_merges(engine, scope)
        row = merges.loc[merges["merge_id"] == outcome.merge_id].iloc[0]
        return _outcome(outcome, row["keep_external_id"], row["absorb_external_id"])

    return _run(args, action)


def register(subparsers: Any) -> None:
    """Add the ``members`` command group to the CLI's subparsers."""
    group = subparsers.add_parser("members", help="one person, one member: duplicates, merge, undo")
    commands = group.add_subparsers(dest="members_command", required=True)
    as_help = "act as this user (their role and store scope apply)"
    duplicates = commands.add_parser("duplicates", help="list probable duplicate member cards")
    duplicates.add_argument("--json", action="store_true", help="print JSON")
    duplicates.add_argument("--min-score", type=float, default=0.25, help="leave out pairs scoring below this")
    duplicates.add_argument("--as", dest="actor", default=argparse.SUPPRESS, help=as_help)
    duplicates.set_defaults(handler=cmd_duplicates)
    merge = commands.add_parser("merge", help="merge the second member into the first")
    merge.add_argument("keep", metavar="KEEP_EXTERNAL_ID", help="the member number that stays")
    merge.add_argument("absorb", metavar="ABSORB_EXTERNAL_ID", help="the member number merged into it")
    merge.add_argument("--as", dest="actor", default=argparse.SUPPRESS, help=as_help)
    merge.set_defaults(handler=cmd_merge)
    undo = commands.add_parser("undo", help="undo a merge: both members back as they were")
    undo.add_argument("merge_id", metavar="MERGE_ID", type=int, help="the merge id printed by `members merge`")
    undo.add_argument("--as", dest="actor", default=argparse.SUPPRESS, help=as_help)
    undo.set_defaults(handler=cmd_undo)
