"""What a query against a shop's own database may be: one read-only SELECT, decided by a parser.

A registered SQL source runs a table read or a SELECT query typed by a chain admin (or, within the
source's allowed tables, by a store manager). This module decides, before anything reaches the
server, whether the text is exactly one SELECT that reads only ordinary tables and calls no
function that touches files, other servers, large objects or the session. It parses the text
with sqlglot instead of matching keywords, so a ``--`` inside a string or a statement smuggled
after a closing parenthesis cannot hide from it.

This is one layer of several: the source is also opened read-only, with a statement timeout, a
row cap and a bound parameter (a second statement is a syntax error in the extended protocol);
the real guarantee is the read-only database user (docs/SQL_SOURCES.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

#: Functions that read or write files, reach other servers, touch large objects, change the
#: session or run SQL given as text. Compared lower-case with the function's name.
DENIED_FUNCTIONS: Final = frozenset(
    {
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fts3_tokenizer",
        "sqlite_compileoption_get",
        "load_file",
        "sys_exec",
        "sys_eval",
        "sleep",
        "benchmark",
        "get_lock",
        "release_lock",
        "dblink",
        "set_config",
        "current_setting",
        "query_to_xml",
        "query_to_xml_and_xmlschema",
        "query_to_xmlschema",
        "cursor_to_xml",
        "cursor_to_xmlschema",
        "table_to_xml",
        "database_to_xml",
        "schema_to_xml",
        "txid_current",
        "nextval",
        "setval",
        "currval",
        "lastval",
        "copy",
    }
)
#: Prefixes of denied function families (PostgreSQL admin and file functions, large objects,
#: dblink variants, SQL Server's extended procedures).
DENIED_FUNCTION_PREFIXES: Final = ("pg_", "lo_", "dblink", "xp_", "sp_", "utl_", "dbms_")
#: Schemas and table-name prefixes of system catalogs (users, roles, settings, files).
SYSTEM_SCHEMAS: Final = frozenset(
    {"pg_catalog", "information_schema", "mysql", "performance_schema", "sys", "pg_toast"}
)
SYSTEM_TABLE_PREFIXES: Final = ("pg_", "sqlite_")
#: Nodes that write, change the session or the transaction, or lock rows.
WRITING_NODES: Final = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Command,
    exp.Copy,
    exp.Set,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Pragma,
    exp.Lock,
    exp.Into,
    exp.Use,
    exp.TruncateTable,
    exp.LoadData,
    exp.Grant,
    exp.Revoke,
    exp.Describe,
    exp.Analyze,
)
SQLGLOT_DIALECTS: Final = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
MAX_QUERY_CHARS: Final = 20_000


class SourceQueryError(ValueError):
    """The table name or query cannot be sent to a source; ``message`` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed every check, and the tables it reads (``schema.table`` or ``table``)."""

    sql: str
    tables: tuple[str, ...]


def check_identifier(name: str, *, what: str) -> str:
    """``name`` if it is a plain identifier (letters, digits, ``_``, ``$``); else raise."""
    if not _IDENTIFIER.match(name or ""):
        raise SourceQueryError(f"'{name}' is not a valid {what} name (letters, digits and _ only)")
    return name


def check_table_name(table: str) -> tuple[str | None, str]:
    """Split ``table`` or ``schema.table`` into (schema, table) after checking both parts."""
    parts = table.split(".")
    if len(parts) > 2:
        raise SourceQueryError(f"'{table}' is not a valid table name (use table or schema.table)")
    for part in parts:
        check_identifier(part, what="table")
    schema, name = (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    _refuse_system_table(schema, name)
    return schema, name


def _refuse_system_table(schema: str | None, name: str) -> None:
    if (schema or "").lower() in SYSTEM_SCHEMAS or name.lower().startswith(SYSTEM_TABLE_PREFIXES):
        shown = f"{schema}.{name}" if schema else name
        raise SourceQueryError(f"'{shown}' is a system table of the database; read the shop's own tables only")


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def _denied_function(name: str) -> bool:
    return name in DENIED_FUNCTIONS or name.startswith(DENIED_FUNCTION_PREFIXES)


def table_allowed(schema: str | None, table: str, allowed: Iterable[str]) -> bool:
    """Whether ``schema.table`` matches an entry of ``allowed`` (``table``, ``schema.table``, ``schema.*``)."""
    full = f"{schema}.{table}".lower() if schema else table.lower()
    for entry in allowed:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.endswith(".*") and schema and schema.lower() == entry[:-2]:
            return True
        if entry == full or (schema is None and entry == table.lower()):
            return True
    return False


def check_select(
    query: str, *, dialect: str = "postgresql", allowed_tables: Iterable[str] | None = None
) -> CheckedQuery:
    """Return the query if it is exactly one SELECT that only reads; else raise.

    Parameters
    ----------
    query
        The text typed for the source.
    dialect
        The source's SQLAlchemy backend name (``postgresql``, ``mysql``, ``mariadb``, ``sqlite``).
    allowed_tables
        When given, every table the query reads must match one entry (``table``, ``schema.table``
        or ``schema.*``).

    Raises
    ------
    SourceQueryError
        Not parseable, several statements, not a SELECT, a writing or locking clause, a denied
        function, a system catalog, or a table outside ``allowed_tables``.
    """
    body = (query or "").strip()
    if not body:
        raise SourceQueryError("the query is empty: write one SELECT statement")
    if len(body) > MAX_QUERY_CHARS:
        raise SourceQueryError(f"the query is longer than {MAX_QUERY_CHARS:,} characters")
    if "\x00" in body:
        raise SourceQueryError("the query contains a NUL byte")
    read = SQLGLOT_DIALECTS.get(dialect, "postgres")
    try:
        statements = [s for s in sqlglot.parse(body, read=read) if s is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise SourceQueryError(f"the query could not be read as one SELECT statement ({first})") from exc
    if len(statements) != 1:
        raise SourceQueryError("only one SELECT statement is allowed: remove everything after the first ';'")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise SourceQueryError("only SELECT queries are allowed")
    for node in tree.walk():
        if isinstance(node, WRITING_NODES):
            keyword = type(node).__name__.upper()
            raise SourceQueryError(f"only read-only SELECT queries are allowed ({keyword} is not)")
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if _denied_function(name):
                raise SourceQueryError(f"the function {name}() is not allowed in a source query")
    cte_names = {str(cte.alias_or_name).lower() for cte in tree.find_all(exp.CTE)}
    tables: list[str] = []
    for table in tree.find_all(exp.Table):
        if not table.name:
            # A function in FROM (e.g. dblink(...) AS t): its name was checked above.
            continue
        schema = table.db or None
        if schema is None and table.name.lower() in cte_names:
            continue
        _refuse_system_table(schema, table.name)
        tables.append(f"{schema}.{table.name}" if schema else table.name)
        if allowed_tables is not None and not table_allowed(schema, table.name, allowed_tables):
            raise SourceQueryError(
                f"the table '{tables[-1]}' is not among this source's allowed tables; ask a chain admin to add it"
            )
    return CheckedQuery(sql=body.rstrip().rstrip(";").rstrip(), tables=tuple(dict.fromkeys(tables)))
