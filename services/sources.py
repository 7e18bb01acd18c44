"""SQL sources: a chain admin registers a shop database; others read it by name, for their stores.

Nobody but a chain admin (``manage_sources``) types a URL. A registered source keeps its URL
encrypted (never shown back, never audited), a table or query, a watermark column, the tables a
manager may name in a query of their own, and the stores it may feed. Every URL must pass the
:class:`SourcePolicy` at registration and again at every read: an allowed host (or, for SQLite,
an existing file in an allowed folder), never the app's own database.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import pandas as pd
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import URL

from core.importing import ImportOptions
from core.scope import PermissionDenied, Scope
from core.sources import (
    CheckedQuery,
    SourceQueryError,
    check_identifier,
    check_select,
    check_table_name,
    table_allowed,
)
from db import importer, source_repo
from db.engine import normalise_url, session_scope
from db.importer import ImportResult, Progress
from db.models import SqlSource
from db.repo import record_audit
from db.sql_source import ReadLimits, SqlSourceError, parse_source_url, read_rows, sqlite_source_path

SOURCE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KINDS: Final = ("bookings", "customers")
DEFAULT_PORTS: Final = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}


class SourceError(ValueError):
    """A source cannot be registered or read; ``code`` names the case for the UI's wording."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


@dataclass(frozen=True)
class SourcePolicy:
    """Where sources may point, the key that encrypts their URLs and the bounds of one read."""

    app_database_url: str
    secret_key: str
    allowed_hosts: tuple[str, ...] = ()
    allowed_dirs: tuple[Path, ...] = ()
    limits: ReadLimits = field(default_factory=ReadLimits)


@dataclass(frozen=True)
class SourceInfo:
    """What may be shown of a registered source (no credentials)."""

    name: str
    backend: str
    shown_url: str
    table: str | None
    query: str | None
    watermark_column: str | None
    kind: str
    allowed_tables: tuple[str, ...]
    store_ids: tuple[int, ...]


@dataclass(frozen=True)
class SourceRead:
    """Rows read from a source, the new watermark and the scope the import runs under."""

    source: SourceInfo
    frame: pd.DataFrame
    watermark: str | None
    import_scope: Scope


def _fernet(secret_key: str) -> Fernet:
    if len(secret_key) < 32:
        raise SourceError(
            "no_key",
            "no secret key to encrypt source credentials: set REVISIT_SOURCE_KEY "
            "(or REVISIT_COOKIE_KEY) to at least 32 random characters",
        )
    digest = hashlib.sha256(("revisit-sql-source:" + secret_key).encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _info(row: SqlSource) -> SourceInfo:
    return SourceInfo(
        name=row.name,
        backend=row.backend,
        shown_url=row.shown_url,
        table=row.table_name,
        query=row.query,
        watermark_column=row.watermark_column,
        kind=row.kind,
        allowed_tables=tuple(row.allowed_tables or ()),
        store_ids=tuple(row.store_ids or ()),
    )


def _same_server(a: URL, b: URL) -> bool:
    """Both URLs (already through :func:`parse_source_url`) name one database on one server."""
    if a.get_backend_name() != b.get_backend_name():
        return False
    port_a = a.port or DEFAULT_PORTS.get(a.get_backend_name())
    port_b = b.port or DEFAULT_PORTS.get(b.get_backend_name())
    local = {"localhost", "127.0.0.1", "::1", ""}
    host_a, host_b = (a.host or "").lower(), (b.host or "").lower()
    same_host = host_a == host_b or (host_a in local and host_b in local)
    return same_host and port_a == port_b and (a.database or "") == (b.database or "")


def check_source_url(url: str, policy: SourcePolicy) -> URL:
    """The parsed URL if the policy allows it; else :class:`SourceError` saying why.

    Refused: an unsupported database, the app's own database, a host outside the allow-list,
    connection parameters that change the host (``host=``, ``unix_socket=``, ``service=``), and
    a SQLite file that is missing, outside the allowed folders or is the app's database file.
    """
    try:
        parsed = parse_source_url(url)
    except SqlSourceError as exc:
        raise SourceError("bad_url", exc.message) from exc
    backend = parsed.get_backend_name()
    app = parse_source_url(normalise_url(policy.app_database_url))
    if backend == "sqlite":
        try:
            path = sqlite_source_path(parsed).resolve()
        except SqlSourceError as exc:
            raise SourceError("bad_url", exc.message) from exc
        if app.get_backend_name() == "sqlite" and app.database and Path(app.database).resolve() == path:
            raise SourceError("app_database", "this is Revisit's own database; register the shop's database instead")
        if not any(path.is_relative_to(folder.resolve()) for folder in policy.allowed_dirs):
            raise SourceError(
                "local_file",
                "local database files are not allowed as sources unless they are in a "
                "folder listed in REVISIT_SOURCE_DIRS",
            )
        if not path.is_file():
            raise SourceError("missing_file", f"the SQLite source file {path.name} does not exist")
        return parsed.set(database=str(path))
    redirecting = {
        "host",
        "hostaddr",
        "unix_socket",
        "service",
        "passfile",
        "sslkey",
        "sslcert",
        "sslrootcert",
        "read_default_file",
        "init_command",
        "options",
    } & {k.lower() for k in parsed.query}
    if redirecting:
        raise SourceError("bad_url", f"connection parameter '{sorted(redirecting)[0]}' is not allowed in a source URL")
    if not parsed.host:
        raise SourceError("bad_url", "the source URL must name its database server (host)")
    if _same_server(parsed, app):
        raise SourceError("app_database", "this is Revisit's own database; register the shop's database instead")
    host = parsed.host.lower()
    port = parsed.port or DEFAULT_PORTS.get(backend)
    allowed = {entry.strip().lower() for entry in policy.allowed_hosts if entry.strip()}
    if host not in allowed and f"{host}:{port}" not in allowed:
        raise SourceError(
            "host_not_allowed",
            f"the host {parsed.host} is not in the allowed source hosts (REVISIT_SOURCE_HOSTS)",
            host=parsed.host,
        )
    return parsed


def visible_to(row: SqlSource, scope: Scope) -> bool:
    """A chain-wide source is visible to every importer; a store source to users of those stores."""
    if scope.store_ids is None or not row.store_ids:
        return True
    return bool(set(row.store_ids) & set(scope.store_ids))


def _import_scope(row: SqlSource, scope: Scope) -> Scope:
    """The stores an import from ``row`` may write: the actor's, narrowed to the source's."""
    if not row.store_ids:
        return scope
    narrowed = scope.narrow(list(row.store_ids))
    return Scope(actor=scope.actor, role=scope.role, store_ids=narrowed)


def register_source(
    engine: Engine,
    scope: Scope,
    *,
    name: str,
    url: str,
    policy: SourcePolicy,
    table: str | None = None,
    query: str | None = None,
    watermark_column: str | None = None,
    kind: str = "bookings",
    allowed_tables: list[str] | tuple[str, ...] = (),
    store_codes: list[str] | tuple[str, ...] = (),
    test_connection: bool = True,
) -> SourceInfo:
    """Register (or replace) a source after checking its URL, query and, by default, one read.

    Raises
    ------
    PermissionDenied
        The actor lacks ``manage_sources`` (only chain admins have it).
    SourceError
        The name, URL, table/query, stores or the test read are refused (the message says why).
    """
    scope.require("manage_sources")
    if not SOURCE_NAME.match(name or ""):
        raise SourceError("bad_name", "a source name is 1–64 letters, digits, '.', '_' or '-'")
    if kind not in KINDS:
        raise SourceError("bad_kind", f"a source reads bookings or customers, not '{kind}'")
    if (table is None) == (query is None):
        raise SourceError("table_or_query", "give either a table or a query")
    parsed = check_source_url(url, policy)
    backend = parsed.get_backend_name()
    checked: CheckedQuery | None = None
    try:
        if table is not None:
            check_table_name(table)
        else:
            checked = check_select(query or "", dialect=backend)
        if watermark_column:
            check_identifier(watermark_column, what="column")
        for entry in allowed_tables:
            if entry.endswith(".*"):  # a whole schema
                check_identifier(entry[:-2], what="schema")
            else:
                check_table_name(entry)
    except SourceQueryError as exc:
        raise SourceError("query_refused", exc.message, detail=exc.message) from exc
    with session_scope(engine) as session:
        found = source_repo.store_ids_by_code(session, codes=list(store_codes))
    unknown = [code for code in store_codes if code not in found]
    if unknown:
        raise SourceError("unknown_store", f"unknown store code {unknown[0]}", store=unknown[0])
    if test_connection:
        try:
            read_rows(url=parsed, table=table, query=checked, limits=policy.limits, preview_rows=1)
        except (SqlSourceError, SourceQueryError) as exc:
            raise SourceError("read_failed", exc.message, detail=exc.message) from exc
    secret = _fernet(policy.secret_key).encrypt(parsed.render_as_string(hide_password=False).encode("utf-8"))
    shown = parsed.set(password=None).render_as_string(hide_password=True)
    row = SqlSource(
        name=name,
        backend=backend,
        shown_url=shown[:300],
        secret=secret,
        table_name=table,
        query=checked.sql if checked else None,
        watermark_column=watermark_column or None,
        kind=kind,
        allowed_tables=[t.strip() for t in allowed_tables if t.strip()],
        store_ids=sorted(found.values()),
        created_by=scope.actor,
    )
    with session_scope(engine) as session:
        saved = source_repo.save_source(session, source=row)
        record_audit(
            session,
            actor=scope.actor,
            action="source_register",
            entity="sql_source",
            entity_id=name,
            after={
                "name": name,
                "url": shown,
                "table": table,
                "query": checked.sql if checked else None,
                "allowed_tables": list(row.allowed_tables),
                "stores": list(store_codes),
            },
        )
        return _info(saved)


def list_sources(engine: Engine, scope: Scope) -> list[SourceInfo]:
    """Sources the actor may read (chain admins: all), without credentials."""
    if not (scope.can("import") or scope.can("manage_sources")):
        raise PermissionDenied(f"{scope.actor} ({scope.role}) may not import")
    with session_scope(engine) as session:
        return [_info(row) for row in source_repo.all_sources(session) if visible_to(row, scope)]


def remove_source(engine: Engine, scope: Scope, *, name: str) -> bool:
    """Unregister a source (``manage_sources``); its saved watermark and mapping stay."""
    scope.require("manage_sources")
    with session_scope(engine) as session:
        removed = source_repo.delete_source(session, name=name)
        if removed:
            record_audit(session, actor=scope.actor, action="source_remove", entity="sql_source", entity_id=name)
        return removed


def read_source(
    engine: Engine,
    scope: Scope,
    *,
    name: str,
    policy: SourcePolicy,
    table: str | None = None,
    query: str | None = None,
    watermark_column: str | None = None,
    since: str | None = None,
    preview_rows: int | None = None,
) -> SourceRead:
    """Read a registered source for the actor (``import``), within the source's stores.

    ``table``/``query`` replace the registered ones: a chain admin may read anything the parser
    allows; anyone else only tables in the source's allowed tables.

    Raises
    ------
    PermissionDenied
        The actor may not import.
    SourceError
        Unknown or not visible source (same message either way), a refused URL, table or query,
        or the database refused the read.
    """
    scope.require("import")
    with session_scope(engine) as session:
        row = source_repo.get_source(session, name=name)
    if row is None or not visible_to(row, scope):
        raise SourceError(
            "not_registered",
            f"no registered source named '{name}': a chain admin registers sources (`sources add`)",
            name=name,
        )
    import_scope = _import_scope(row, scope)
    if import_scope.store_ids is not None and not import_scope.store_ids:
        raise SourceError("not_registered", f"no registered source named '{name}'", name=name)
    try:
        plain = _fernet(policy.secret_key).decrypt(row.secret).decode("utf-8")
    except InvalidToken as exc:
        raise SourceError(
            "key_changed",
            "the source's credentials cannot be read with this installation's key; "
            "a chain admin must register the source again",
        ) from exc
    parsed = check_source_url(plain, policy)
    override = table is not None or query is not None
    if override and not scope.can("manage_sources") and not row.allowed_tables:
        raise SourceError("no_override", "this source allows no other table or query; ask a chain admin")
    allowed = None if scope.can("manage_sources") else list(row.allowed_tables)
    try:
        checked: CheckedQuery | None = None
        if table is not None:
            schema, bare = check_table_name(table)
            if allowed is not None and not table_allowed(schema, bare, allowed):
                raise SourceQueryError(
                    f"the table '{table}' is not among this source's allowed tables; ask a chain admin to add it"
                )
            read_table: str | None = table
        elif query is not None:
            read_table, checked = None, check_select(query, dialect=row.backend, allowed_tables=allowed)
        elif row.table_name:
            read_table = row.table_name
        else:
            read_table, checked = None, check_select(row.query or "", dialect=row.backend)
        frame, watermark = read_rows(
            url=parsed,
            table=read_table,
            query=checked,
            watermark_column=watermark_column or row.watermark_column,
            since=since,
            limits=policy.limits,
            preview_rows=preview_rows,
        )
    except SourceQueryError as exc:
        raise SourceError("query_refused", exc.message, detail=exc.message) from exc
    except SqlSourceError as exc:
        raise SourceError("read_failed", exc.message, detail=exc.message) from exc
    return SourceRead(source=_info(row), frame=frame, watermark=watermark, import_scope=import_scope)


def looks_like_url(text: str) -> bool:
    """Whether a source argument is a URL (refused: sources are named, not typed)."""
    return "://" in text or text.lower().startswith(("sqlite:", "postgresql:", "mysql:", "file:"))


def describe(info: SourceInfo, store_codes: dict[int, str]) -> dict[str, Any]:
    """A source as plain values for a listing (no credentials)."""
    return {
        "name": info.name,
        "database": info.backend,
        "url": info.shown_url,
        "table": info.table,
        "query": info.query,
        "watermark": info.watermark_column,
        "kind": info.kind,
        "allowed_tables": list(info.allowed_tables),
        "stores": [store_codes.get(i, str(i)) for i in info.store_ids],
    }


@dataclass(frozen=True)
class SourceImport:
    """What one sync of a source did: ``result`` is None when nothing new was read."""

    source: str
    since: str | None
    mapping: dict[str, str]
    result: ImportResult | None


def import_source(
    engine: Engine,
    scope: Scope,
    *,
    name: str,
    policy: SourcePolicy,
    options: ImportOptions,
    reject_dir: str | Path,
    map_args: list[str] | tuple[str, ...] = (),
    table: str | None = None,
    query: str | None = None,
    watermark_column: str | None = None,
    full: bool = False,
    kind: str | None = None,
    create_stores: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SourceImport:
    """Sync a registered source: read rows past the saved watermark, map, validate, import.

    The page and the CLI both run this. The saved mapping of the source is used and, after an
    import that wrote rows, replaced by the one used. Rows go only to the stores both the actor
    and the source may write. The reject report goes under ``reject_dir``.

    Raises
    ------
    PermissionDenied, SourceError
        As :func:`read_source`.
    ImportFileError
        The mapping cannot be used (e.g. ``--map`` names a column the source does not return).
    """
    scope.require("import")
    with session_scope(engine) as session:
        since = None if full else importer.last_watermark(session, source=name)
        vocabulary = importer.load_status_vocabulary(session)
    read = read_source(
        engine,
        scope,
        name=name,
        policy=policy,
        table=table,
        query=query,
        watermark_column=watermark_column,
        since=since,
    )
    what = kind or read.source.kind
    with session_scope(engine) as session:
        saved = importer.saved_mapping(session, source=name, kind=what)
    if read.frame.empty:
        return SourceImport(source=name, since=since, mapping=dict(saved or {}), result=None)
    mapping = importer.resolve_mapping(list(read.frame.columns), kind=what, saved=saved, map_args=map_args)
    prepared = importer.prepare(what, read.frame, mapping, replace(options, statuses=vocabulary))
    common: dict[str, Any] = {
        "scope": read.import_scope,
        "source": name,
        "filename": name,
        "create_stores": create_stores,
        "country": options.default_country,
        "dry_run": dry_run,
        "progress": progress,
        "reject_dir": reject_dir,
    }
    if what == "bookings":
        result = importer.import_bookings(
            engine, prepared=prepared, watermark=read.watermark, batch_kind="sql", **common
        )
    else:
        result = importer.import_customers(engine, prepared=prepared, **common)
    if result.status == "done":
        with session_scope(engine) as session:
            importer.save_mapping(session, scope=scope, source=name, kind=what, mapping=mapping)
    return SourceImport(source=name, since=since, mapping=mapping, result=result)
