"""Limits and messages shared by the import writers."""

from __future__ import annotations

from typing import Final

KINDS: Final = ("bookings", "customers")
STATUS_VOCABULARY_KEY: Final = "status_vocabulary"
IN_CHUNK: Final = 5_000  # keys per IN (...) lookup: well under SQLite's variable limit
PG_ANY_CHUNK: Final = 100_000  # keys per "= ANY(array)" lookup on PostgreSQL
WRITE_CHUNK: Final = 100_000  # rows formatted at a time by bulk_insert (progress granularity)
INDEX_REBUILD_ROWS: Final = 50_000  # larger imports into a smaller table rebuild indexes (and PG FKs) after the load
COUNTRY_DEFAULTS: Final = {
    "TW": {"timezone": "Asia/Taipei", "currency": "TWD", "country": "TW"},
    "CN": {"timezone": "Asia/Shanghai", "currency": "CNY", "country": "CN"},
}
# Column lengths (db.models): a longer value rejects the row with the limit named, never cut.
_COLUMN_LIMITS: Final = {
    "booking_id": 64,
    "customer_id": 64,
    "email": 200,
    "line_id": 64,
    "customer_name": 120,
    "phone_raw": 40,
    "pet_name": 80,
    "pet_breed": 80,
    "pet_species": 16,
    "service": 120,
    "staff": 120,
    "channel": 16,
}
STORE_CODE_LIMIT: Final = 32
#: Code of the store created for the first import into an empty database when no ``--store``
#: names it; the owner renames the store in the app.
DEFAULT_STORE_CODE: Final = "MAIN"
DEFAULT_STORE_NAME: Final = "Main store"
#: Seconds an import waits for another writer (SQLite write lock, PostgreSQL import lock)
#: before giving up with ``BUSY_MESSAGE``.
LOCK_WAIT_SECONDS: Final = 30.0
BUSY_MESSAGE: Final = "another import or job is writing; try again"
# Key of the PostgreSQL advisory lock that serialises imports: two imports of the same rows
# would otherwise both find them new and the later commit would fail on the unique key.
_PG_IMPORT_LOCK: Final = 727_001
_SQLITE_BUSY_MS: Final = 30_000  # the engine's default busy timeout (db.engine), restored after an import
