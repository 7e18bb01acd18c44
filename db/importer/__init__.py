"""Write prepared booking and member imports into the database, all or nothing.

The pure half (reading, mapping, parsing, validation) lives in :mod:`core.importing`; this
package resolves the prepared rows against what the database already holds and writes them:

* stores by code (or name), services by name, staff by name within a store, customers by
  external id, pets by owner + name — existing rows are read in bulk, missing ones are created
  with :func:`db.bulk.bulk_insert` and ids are attached with pandas merges (no per-row ORM
  objects);
* bookings whose dedupe key is already in the database are skipped and counted as duplicates,
  so importing the same file twice adds nothing — unless the export now tells a newer outcome
  (``booked`` → ``completed``, a new time, a corrected amount): then the stored booking is
  updated and counted as updated;
* every accepted row is written in ONE transaction. When anything fails, the transaction is
  rolled back, the :class:`~db.models.ImportBatch` is recorded as ``failed`` in a separate
  transaction and the reject report is still written.

* a new installation needs no setup: on a database without stores, rows without a store go
  to one store created for them (see :func:`import_bookings`); an import that accepts no row
  at all rolls back (a store created for it too) and reports ``status == "rejected"``;
* imports wait a bounded time (``LOCK_WAIT_SECONDS``) for another writer — SQLite's write lock,
  a PostgreSQL advisory lock that serialises imports so concurrent imports of the same rows
  count duplicates — then fail with ``BUSY_MESSAGE``;
* a value longer than its column rejects the row (``_COLUMN_LIMITS``), never cut.

Counts always add up: ``read = imported + updated + duplicates + rejected``.

Modules: :mod:`~db.importer.limits` (limits and messages), :mod:`~db.importer.result` (what an
import did), :mod:`~db.importer.mappings` (mappings, status words, history),
:mod:`~db.importer.batch` (transaction, lock, batch row, reject report),
:mod:`~db.importer.resolve` and :mod:`~db.importer.stores` (resolution against the database),
:mod:`~db.importer.bookings` and :mod:`~db.importer.customers` (the writers). Reading and
preparing a whole file is a use case: :mod:`services.importing`.
"""

from __future__ import annotations

from db.importer.batch import write_reject_report
from db.importer.bookings import import_bookings
from db.importer.customers import import_customers
from db.importer.limits import (
    BUSY_MESSAGE,
    COUNTRY_DEFAULTS,
    DEFAULT_STORE_CODE,
    DEFAULT_STORE_NAME,
    IN_CHUNK,
    INDEX_REBUILD_ROWS,
    KINDS,
    LOCK_WAIT_SECONDS,
    PG_ANY_CHUNK,
    STATUS_VOCABULARY_KEY,
    STORE_CODE_LIMIT,
    WRITE_CHUNK,
)
from db.importer.mappings import (
    custom_status_words,
    fields_for,
    last_watermark,
    list_sources,
    load_status_vocabulary,
    prepare,
    recent_batches,
    resolve_mapping,
    save_mapping,
    save_status_words,
    saved_mapping,
)
from db.importer.result import ImportResult, InjectedFailure, Progress, booking_counts

__all__ = [
    "BUSY_MESSAGE",
    "COUNTRY_DEFAULTS",
    "DEFAULT_STORE_CODE",
    "DEFAULT_STORE_NAME",
    "INDEX_REBUILD_ROWS",
    "IN_CHUNK",
    "KINDS",
    "LOCK_WAIT_SECONDS",
    "PG_ANY_CHUNK",
    "STATUS_VOCABULARY_KEY",
    "STORE_CODE_LIMIT",
    "WRITE_CHUNK",
    "ImportResult",
    "InjectedFailure",
    "Progress",
    "booking_counts",
    "custom_status_words",
    "fields_for",
    "import_bookings",
    "import_customers",
    "last_watermark",
    "list_sources",
    "load_status_vocabulary",
    "prepare",
    "recent_batches",
    "resolve_mapping",
    "save_mapping",
    "save_status_words",
    "saved_mapping",
    "write_reject_report",
]
