"""The booking writer: dedupe against the database, update known bookings, large loads with indexes set aside."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
from sqlalchemy import Table, bindparam, func, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core import localtime
from core.importing import (
    PreparedImport,
)
from core.scope import Scope
from db.bulk import begin_explicitly
from db.dialect import is_postgres, is_sqlite
from db.importer.batch import _execute, _Run
from db.importer.limits import (
    DEFAULT_STORE_NAME,
    INDEX_REBUILD_ROWS,
    LOCK_WAIT_SECONDS,
)
from db.importer.resolve import (
    _attributes,
    _fit,
    _in_chunks,
    _reject_long_values,
    _resolve_customers,
    _resolve_pets,
    _resolve_services,
    _resolve_staff,
    _write_chunks,
)
from db.importer.result import ImportResult, Progress
from db.importer.stores import _resolve_stores
from db.models import (
    Booking,
    Store,
)


def import_bookings(
    engine: Engine,
    *,
    prepared: PreparedImport,
    scope: Scope,
    source: str = "",
    filename: str = "",
    create_stores: bool = False,
    country: str = "TW",
    dry_run: bool = False,
    watermark: str | None = None,
    batch_kind: str = "bookings",
    reject_dir: str | Path,
    fail_after_rows: int | None = None,
    progress: Progress | None = None,
    default_store_name: str = DEFAULT_STORE_NAME,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> ImportResult:
    """Write prepared bookings (columns ``ACCEPTED_BOOKING_COLUMNS``) in one transaction.

    Parameters
    ----------
    engine
        The target database.
    prepared
        Output of :func:`core.importing.prepare_bookings`.
    scope
        The importing user: needs the ``import`` permission; rows for stores outside the scope
        are rejected with a reason.
    source, filename
        Recorded on the import batch (``source`` also keys the live-database watermark).
    create_stores
        Create stores for unknown store codes (chain-wide scopes only); otherwise such rows are
        rejected naming the code. A database without any store needs no flag: rows without a
        store go to one store created for them, coded ``prepared.default_store`` (the CLI's
        ``--store``) or ``DEFAULT_STORE_CODE`` and named ``default_store_name``.
    country
        ``TW`` or ``CN``: time zone and currency of created stores.
    dry_run
        Do everything, report the counts, then roll back: nothing is written to the database
        (the reject report is still written).
    watermark
        Largest watermark value read from a live database, stored on the batch.
    batch_kind
        Recorded as the batch kind (``bookings`` or ``sql``).
    reject_dir
        Folder of the reject report (the application passes ``Settings.reject_report_dir``).
    fail_after_rows
        Test hook: raise :class:`InjectedFailure` after writing this many bookings.
    progress
        Called with ``(fraction done, stage)``; stages are ``resolve``, ``write``, ``done``,
        ``failed``.
    default_store_name
        Name of the store created on a database that has none (the owner renames it later).
    lock_wait
        Seconds to wait for another writer before failing with ``BUSY_MESSAGE``.

    Returns
    -------
    ImportResult
        ``status`` is ``done``, ``dry_run``, ``rejected`` (every row refused) or ``failed``
        (database unchanged).

    Raises
    ------
    PermissionDenied
        The caller's role may not import (nothing is written, not even a batch).
    """
    scope.require("import")
    return _execute(
        engine,
        kind="bookings",
        batch_kind=batch_kind,
        prepared=prepared,
        scope=scope,
        source=source,
        filename=filename,
        dry_run=dry_run,
        watermark=watermark,
        reject_dir=reject_dir,
        progress=progress,
        write=lambda session, run, batch_id: _write_bookings(
            session,
            run,
            scope=scope,
            batch_id=batch_id,
            create_stores=create_stores,
            country=country,
            fail_after_rows=fail_after_rows,
            progress=progress,
            default_store_name=default_store_name,
        ),
        lock_wait=lock_wait,
    )


def _existing_booking_keys(connection: Connection, rows: pd.DataFrame) -> set[str]:
    """The dedupe keys among ``rows["db_key"]`` that the database already holds.

    Keys are store-qualified, so only bookings of the rows' stores can match: when those stores
    hold no bookings nothing is looked up, and when they hold fewer bookings than the file has
    rows their keys are read in one scan instead of a million-key ``IN``/``ANY`` lookup.
    """
    stores = [int(s) for s in pd.unique(rows["store_id"].dropna())]
    in_stores = Booking.store_id.in_(stores)  # type: ignore[attr-defined]
    held = int(connection.execute(select(func.count()).select_from(Booking).where(in_stores)).scalar() or 0)
    if held == 0:
        return set()
    if held < len(rows):
        keys = set(connection.execute(select(Booking.dedupe_key).where(in_stores)).scalars())
        return keys & set(rows["db_key"])
    found = _in_chunks(connection, [Booking.dedupe_key], Booking.dedupe_key, list(rows["db_key"]))
    return set(found["dedupe_key"])


def _write_bookings(
    session: Session,
    run: _Run,
    *,
    scope: Scope,
    batch_id: int | None,
    create_stores: bool,
    country: str,
    fail_after_rows: int | None,
    progress: Progress | None,
    default_store_name: str = DEFAULT_STORE_NAME,
) -> int:
    connection = session.connection()
    if is_sqlite(connection):
        # A bigger page cache for this connection keeps index updates of a large import in memory.
        connection.exec_driver_sql("PRAGMA cache_size=-262144")
    if progress:
        progress(0.02, "resolve")
    _reject_long_values(run)
    run.rows["store_id"] = _resolve_stores(
        connection,
        run,
        scope=scope,
        create_stores=create_stores,
        country=country,
        required=True,
        default_store_name=default_store_name,
    )
    if run.rows.empty:
        return 0
    # The key is store-qualified: two stores' systems may both number their bookings from 1.
    run.rows["db_key"] = run.rows["store_id"].astype("int64").astype(str) + "|" + run.rows["dedupe_key"].astype(str)
    already = run.rows["db_key"].isin(_existing_booking_keys(connection, run.rows))
    if already.any():
        run.updated = _update_known_bookings(connection, run.rows.loc[already])
    run.db_duplicates = int(already.sum()) - run.updated
    run.rows = run.rows.loc[~already]
    if progress:
        progress(0.1, "resolve")
    if run.rows.empty:
        return 0
    _resolve_services(connection, run)
    _resolve_staff(connection, run)
    if progress:
        progress(0.15, "resolve")
    _resolve_customers(connection, run, scope=scope)
    _resolve_pets(connection, run)
    if progress:
        progress(0.3, "resolve")

    rows = run.rows
    timezones = dict(connection.execute(select(Store.id, Store.timezone)).all())
    store_ids = rows["store_id"].astype("int64")
    out = pd.DataFrame(
        {
            "external_id": rows["booking_id"],
            "dedupe_key": rows["db_key"],
            "store_id": store_ids,
            "customer_id": rows["customer_pk"],
            "pet_id": rows["pet_id"],
            "service_id": rows["service_id"],
            "staff_id": rows["staff_id"],
            "designated": rows["designated"].astype(bool),
            "created_at": localtime.to_utc(rows["created_at"], store_ids, timezones),
            "scheduled_at": localtime.to_utc(rows["scheduled_at"], store_ids, timezones),
            "status": rows["status"],
            "amount": rows["amount"].astype(float),
            "addon_amount": rows["addon_amount"].astype(float),
            "channel": _fit(rows["channel"], 16),
            "deposit": 0.0,
            "import_batch_id": batch_id,
            "attributes": _attributes(rows),
        }
    )
    with _indexes_set_aside(connection, Booking.__table__, len(out)):  # type: ignore[arg-type]
        return _write_chunks(connection, Booking.__table__, out, fail_after_rows=fail_after_rows, progress=progress)  # type: ignore[arg-type]


#: A booking's outcome once known; an older export that still says ``booked`` never undoes it.
_RESOLVED_STATUSES: Final = frozenset({"completed", "cancelled", "no_show", "rescheduled"})


def _update_known_bookings(connection: Connection, rows: pd.DataFrame) -> int:
    """Bring bookings already imported up to date with a newer export of the same booking.

    A booking exported while ``booked`` comes back ``completed`` (or cancelled, rescheduled to a
    new time, its amount corrected): the stored row takes the new status, time and amounts. A
    stale export (``booked`` again for a booking whose outcome is known) changes nothing, so
    importing files in any order ends with the latest known outcome. Returns the rows changed.
    """
    stored = _in_chunks(
        connection,
        [Booking.id, Booking.dedupe_key, Booking.status, Booking.scheduled_at, Booking.amount, Booking.addon_amount],
        Booking.dedupe_key,
        list(rows["db_key"]),
    )
    if stored.empty:
        return 0
    timezones = dict(connection.execute(select(Store.id, Store.timezone)).all())
    store_ids = rows["store_id"].astype("int64")
    incoming = pd.DataFrame(
        {
            "dedupe_key": rows["db_key"].to_numpy(),
            "new_status": rows["status"].astype(str).to_numpy(),
            "new_at": pd.to_datetime(localtime.to_utc(rows["scheduled_at"], store_ids, timezones), utc=True).to_numpy(),
            "new_amount": rows["amount"].astype(float).to_numpy(),
            "new_addon": rows["addon_amount"].astype(float).to_numpy(),
        }
    )
    both = stored.merge(incoming, on="dedupe_key")
    old_at = pd.to_datetime(both["scheduled_at"], utc=True, format="mixed")
    changed = (
        both["status"].ne(both["new_status"])
        | old_at.ne(pd.to_datetime(both["new_at"], utc=True))
        | ~np.isclose(both["amount"].astype(float), both["new_amount"])
        | ~np.isclose(both["addon_amount"].astype(float), both["new_addon"])
    )
    stale = both["new_status"].eq("booked") & both["status"].isin(_RESOLVED_STATUSES)
    update_rows = both.loc[changed & ~stale]
    if update_rows.empty:
        return 0
    statement = (
        update(Booking)
        .where(Booking.id == bindparam("booking_pk"))
        .values(
            status=bindparam("new_status"),
            scheduled_at=bindparam("new_at"),
            amount=bindparam("new_amount"),
            addon_amount=bindparam("new_addon"),
        )
    )
    connection.execute(
        statement,
        [
            {
                "booking_pk": int(r.id),
                "new_status": r.new_status,
                "new_at": pd.Timestamp(r.new_at).to_pydatetime(),
                "new_amount": float(r.new_amount),
                "new_addon": float(r.new_addon),
            }
            for r in update_rows.itertuples(index=False)
        ],
    )
    return len(update_rows)


@contextmanager
def _indexes_set_aside(connection: Connection, table: Table, rows: int) -> Iterator[None]:
    """Drop the secondary indexes (PostgreSQL: and foreign keys) of ``table`` around a large insert.

    Building an index once after the load is much cheaper than updating it row by row. Only
    done for more than ``INDEX_REBUILD_ROWS`` rows and when the new rows outnumber those already
    in the table (rebuilding the index of a big table for a smaller import would cost more than
    it saves, and would hold the locks longer). The drop and re-create run in the import's own
    transaction, so a failure rolls them back with the rows. SQLite: the unique ``dedupe_key``
    index stays; dropping an index needs the write lock the import holds anyway. PostgreSQL:
    foreign keys and the unique constraint too, see :func:`_pg_checks_set_aside` for the locks.
    """
    if rows <= INDEX_REBUILD_ROWS or not (is_sqlite(connection) or is_postgres(connection)):
        yield
        return
    held = int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
    if is_postgres(connection):
        if held >= rows:
            yield
        else:
            with _pg_checks_set_aside(connection, table):
                yield
        return
    present = {ix["name"] for ix in inspect(connection).get_indexes(table.name)}
    aside = [index for index in table.indexes if index.name in present and not index.unique]
    if held >= rows or not aside:
        yield
        return
    # A dry run that creates no member or store has written nothing yet: keep the drop in its transaction.
    begin_explicitly(connection)
    for index in aside:
        index.drop(connection)
    yield
    for index in aside:
        index.create(connection)


# Foreign keys of the table, and its unique constraints that no foreign key points at; unique
# constraints first, so they are back before anything is checked against them.
_PG_CONSTRAINTS: Final = text(
    "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
    "WHERE c.conrelid = CAST(:table AS regclass) AND (c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS ("
    "SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid))) "
    "ORDER BY c.contype DESC, c.conname"
)
_PG_PLAIN_INDEXES: Final = text(
    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE i.indrelid = CAST(:table AS regclass) AND NOT i.indisunique AND NOT i.indisprimary ORDER BY c.relname"
)


@contextmanager
def _pg_checks_set_aside(connection: Connection, table: Table) -> Iterator[None]:
    """On PostgreSQL, load ``table`` without per-row foreign-key checks and index updates.

    Each row of a COPY into ``booking`` fires six foreign-key triggers and updates seven
    indexes; for a large load that is most of the server's time. Here the foreign keys, the
    unique ``dedupe_key`` constraint and the non-unique indexes are dropped, the rows loaded,
    then the unique constraint and the indexes built once (a sort each) and the foreign keys
    added back. ``ADD CONSTRAINT`` checks every row set-based (one anti-join per key, one
    uniqueness check), so a dangling id or a duplicate key still fails the import. Everything
    runs in the import's transaction, so a failure rolls the schema back with the rows.
    Definitions are read from the catalog (``pg_get_constraintdef`` / ``pg_get_indexdef``) and
    re-created verbatim, names included. The primary key stays.

    Lock: dropping a foreign key takes ``ACCESS EXCLUSIVE`` on ``booking`` and on each table it
    references (store, customer, pet, service, staff, importbatch) until commit, so readers of
    those tables wait for the import, and no other import can write bookings meanwhile (which
    is also why the unique constraint may be rebuilt instead of maintained). Callers only come
    here when the import holds more rows than the table (a first or catch-up load), where that
    wait is shorter than the per-row load would have taken.
    """
    name = table.name
    constraints = connection.execute(_PG_CONSTRAINTS, {"table": name}).all()
    indexes = connection.execute(_PG_PLAIN_INDEXES, {"table": name}).all()
    if constraints:
        drops = ", ".join(f'DROP CONSTRAINT "{constraint}"' for constraint, _ in constraints)
        connection.exec_driver_sql(f'ALTER TABLE "{name}" {drops}')
    for index, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{index}"')
    yield
    unique = [(c, d) for c, d in constraints if d.startswith("UNIQUE")]
    foreign = [(c, d) for c, d in constraints if not d.startswith("UNIQUE")]
    if unique:
        adds = ", ".join(f'ADD CONSTRAINT "{constraint}" {definition}' for constraint, definition in unique)
        connection.exec_driver_sql(f'ALTER TABLE "{name}" {adds}')
    for _, definition in indexes:
        connection.exec_driver_sql(definition)
    if foreign:
        adds = ", ".join(f'ADD CONSTRAINT "{constraint}" {definition}' for constraint, definition in foreign)
        connection.exec_driver_sql(f'ALTER TABLE "{name}" {adds}')
