"""Turn a raw table plus a column mapping into typed, validated rows and a list of rejects.

Rules: a row with any problem is rejected whole (one reject line per problem); rows that repeat
an earlier row's dedupe key are reported as duplicates; unmapped columns are kept as JSON
attributes. Nothing is dropped without being counted or listed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
import phonenumbers

from core.columns import BOOKING_STATUSES

from .errors import ImportFileError
from .mapping import BOOKING_FIELDS, CUSTOMER_FIELDS
from .parsers import (
    Parsed,
    StatusVocabulary,
    codes_and_uniques,
    is_ambiguous_reason,
    normalise_channels,
    normalise_species,
    parse_amounts,
    parse_booleans,
    parse_dates,
    parse_emails,
    parse_phones,
    parse_quantities,
    parse_statuses,
    parse_tags,
    parse_text,
    parse_times,
)
from .reader import ROW_NUMBER, RawTable

REJECT_COLUMNS: Final = ("row_number", "field", "value", "reason")
# C0 controls except tab and line breaks, DEL, and the C1 block.
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
ACCEPTED_BOOKING_COLUMNS: Final = (
    "booking_id",
    "customer_id",
    "customer_name",
    "phone",
    "phone_raw",
    "email",
    "line_id",
    "birthday",
    "pet_name",
    "pet_species",
    "pet_breed",
    "store",
    "service",
    "staff",
    "designated",
    "status",
    "scheduled_at",
    "amount",
    "addon_amount",
    "quantity",
    "created_at",
    "channel",
    "row_number",
    "dedupe_key",
    "attributes",
)
ACCEPTED_CUSTOMER_COLUMNS: Final = (
    "customer_id",
    "customer_name",
    "phone",
    "phone_raw",
    "email",
    "line_id",
    "birthday",
    "store",
    "consent_sms",
    "consent_line",
    "consent_email",
    "consent_wechat",
    "tags",
    "joined_on",
    "row_number",
    "dedupe_key",
    "attributes",
)
CONSENT_FIELDS: Final = ("consent_sms", "consent_line", "consent_email", "consent_wechat")


@dataclass(frozen=True)
class ImportOptions:
    """How to read ambiguous values.

    Attributes
    ----------
    default_country
        Region for phone numbers written without a country code ("TW" or "CN").
    dayfirst
        Order for dates like ``05/01/2024``: ``True`` day-first, ``False`` month-first, ``None``
        reject such rows as ambiguous so the user can choose.
    statuses
        Raw status word → canonical status vocabulary.
    default_store
        Store code for rows without a store column/value (the CLI's ``--store``).
    timezone
        IANA zone used to convert date-times that carry an offset (``...Z``, ``+08:00``);
        ``None`` keeps the wall-clock time as written. Values without an offset are never
        shifted: Revisit keeps store-local naive times.
    min_year
        Visit dates before this year are refused as implausible (catches ``24/05/01`` read as
        ROC year 24).
    """

    default_country: str = "TW"
    dayfirst: bool | None = None
    statuses: StatusVocabulary = field(default_factory=StatusVocabulary.default)
    default_store: str | None = None
    timezone: str | None = None
    min_year: int = 1990

    def __post_init__(self) -> None:
        if self.default_country.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown default_country '{self.default_country}' (use TW or CN)")
        object.__setattr__(self, "default_country", self.default_country.upper())


@dataclass(frozen=True)
class PreparedImport:
    """Result of :func:`prepare_bookings` / :func:`prepare_customers`.

    Attributes
    ----------
    accepted
        Typed, validated rows (columns ``ACCEPTED_BOOKING_COLUMNS`` or
        ``ACCEPTED_CUSTOMER_COLUMNS``), in file order, index 0..n-1.
    rejects
        One row per problem: ``row_number``, ``field``, ``value`` (raw text), ``reason``.
        Includes in-file duplicates (reason ``duplicate of row N``).
    read
        Non-blank data rows in the file.
    duplicates_in_file
        Rows dropped because an earlier row had the same dedupe key.
    rejected
        Rows rejected for errors (not counting duplicates).
    blank_rows
        Entirely empty rows skipped.
    mapping
        The ``{field: column}`` mapping that was applied.
    ambiguous_dates
        Rejected rows whose date order (day/month) is ambiguous; set ``dayfirst`` to fix.
    default_store
        The store code chosen for rows without one (``ImportOptions.default_store``); on a
        database without stores the writer creates it.
    """

    accepted: pd.DataFrame
    rejects: pd.DataFrame
    read: int
    duplicates_in_file: int
    rejected: int
    blank_rows: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    ambiguous_dates: int = 0
    default_store: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Counts for the CLI/UI: read, accepted, duplicates_in_file, rejected, blank_rows."""
        return {
            "read": self.read,
            "accepted": len(self.accepted),
            "duplicates_in_file": self.duplicates_in_file,
            "rejected": self.rejected,
            "blank_rows": self.blank_rows,
        }

    @property
    def needs_dayfirst(self) -> bool:
        """Whether the user must choose day-first or month-first dates."""
        return self.ambiguous_dates > 0

    @property
    def all_rejected(self) -> bool:
        """Every data row was refused: importing would add nothing."""
        return self.read > 0 and self.accepted.empty and self.rejected > 0


# ------------------------------------------------------------------------------------ schemas


def _non_empty_text(series: pd.Series) -> pd.Series:
    return series.map(lambda v: isinstance(v, str) and v != "")


BOOKING_SCHEMA: Final = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(object, pa.Check(_non_empty_text, element_wise=False), nullable=False),
        "scheduled_at": pa.Column("datetime64[ns]", nullable=False),
        "status": pa.Column(object, pa.Check.isin(BOOKING_STATUSES), nullable=False),
        "amount": pa.Column(float, pa.Check.ge(0), nullable=False),
        "addon_amount": pa.Column(float, pa.Check.ge(0), nullable=False),
        "quantity": pa.Column("int64", pa.Check.ge(1), nullable=False),
        "designated": pa.Column(bool, nullable=False),
        "created_at": pa.Column("datetime64[ns]", nullable=True),
        "birthday": pa.Column("datetime64[ns]", nullable=True),
        "row_number": pa.Column("int64", pa.Check.ge(1), nullable=False),
        "dedupe_key": pa.Column(object, nullable=False, unique=True),
        "attributes": pa.Column(object, nullable=False),
    },
    strict=False,
)

CUSTOMER_SCHEMA: Final = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(object, pa.Check(_non_empty_text, element_wise=False), nullable=False, unique=True),
        "birthday": pa.Column("datetime64[ns]", nullable=True),
        "joined_on": pa.Column("datetime64[ns]", nullable=True),
        **{name: pa.Column("boolean", nullable=True) for name in CONSENT_FIELDS},
        "row_number": pa.Column("int64", pa.Check.ge(1), nullable=False),
        "dedupe_key": pa.Column(object, nullable=False, unique=True),
        "attributes": pa.Column(object, nullable=False),
    },
    strict=False,
)


# ---------------------------------------------------------------------------------- machinery


class _Rows:
    """The raw cells being prepared, with their user-visible row numbers and problems."""

    def __init__(self, raw: pd.DataFrame | RawTable, mapping: Mapping[str, str], fields: Sequence[str]):
        frame = raw.frame if isinstance(raw, RawTable) else raw
        if frame.index.name == ROW_NUMBER:
            numbers = pd.Series(frame.index.astype("int64"), dtype="int64")
        else:
            # A plain frame read with a header on line 1 and no skipped lines.
            numbers = pd.Series(range(2, len(frame) + 2), dtype="int64")
        frame = frame.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        # Every column dictionary-encoded once (free when the reader already did it): the
        # parsers then work on distinct values and take the results back with the codes.
        text = pd.DataFrame({c: _as_text(frame[c]) for c in frame.columns}, index=frame.index)
        blank = np.ones(len(text), dtype=bool)
        for column in text.columns:
            codes, uniques = codes_and_uniques(text[column])
            empty = np.array([not v.strip() for v in uniques] + [True], dtype=bool)
            blank &= empty[codes]
        self.blank_rows = int(blank.sum())
        if self.blank_rows:
            text = text[~blank].reset_index(drop=True)
        self.text = text
        self.row_number = numbers[~blank].reset_index(drop=True)
        self.mapping = _check_mapping(self.text.columns, mapping, fields)
        self.problems: list[pd.DataFrame] = []
        self._flag_control_characters()

    def _flag_control_characters(self) -> None:
        """Reject rows holding NUL or another control character in any cell, mapped or not.

        Such bytes are never part of a name, a date or a note; they come from broken or hostile
        files, SQLite would store them and PostgreSQL refuses NUL outright. Tab and line breaks
        (legitimate inside a quoted note) are allowed.
        """
        field_of = {column: name for name, column in self.mapping.items()}
        for column in self.text.columns:
            codes, uniques = codes_and_uniques(self.text[column])
            if not _CONTROL_RE.search("".join(uniques)):
                continue  # one scan in C for the usual clean column
            found = [_CONTROL_RE.search(v) for v in uniques]
            bad_unique = np.array([m is not None for m in found] + [False], dtype=bool)
            bad = bad_unique[codes]
            chars = np.array([f"U+{ord(m.group()):04X}" if m else "" for m in found] + [""], dtype=object)[codes]
            self.problems.append(
                pd.DataFrame(
                    {
                        "row_number": self.row_number[bad].to_numpy(),
                        "field": field_of.get(column, column),
                        "value": [
                            _CONTROL_RE.sub("?", v) for v in np.asarray(self.text[column][bad].to_numpy(), dtype=object)
                        ],
                        "reason": [f"contains a control character ({c}) that cannot be stored" for c in chars[bad]],
                        "_pos": self.text.index[bad].to_numpy(),
                    }
                )
            )

    def column(self, name: str) -> pd.Series:
        """Raw cells of a canonical field (all empty when unmapped)."""
        if name in self.mapping:
            return self.text[self.mapping[name]]
        empty = pd.Categorical.from_codes(
            np.zeros(len(self.text), dtype=np.int8), categories=pd.Index([""], dtype=object)
        )
        return pd.Series(empty, index=self.text.index)

    def take(self, name: str, parsed: Parsed) -> pd.Series:
        """Record the problems of a parsed field and return its values."""
        self.flag(name, parsed.errors)
        return parsed.values

    def flag(self, name: str, reasons: pd.Series) -> None:
        """Record reasons (``None`` = fine) against field ``name``."""
        bad = reasons.notna().to_numpy()
        if bad.any():
            self.problems.append(
                pd.DataFrame(
                    {
                        "row_number": self.row_number[bad].to_numpy(),
                        "field": name,
                        "value": np.asarray(self.column(name)[bad].to_numpy(), dtype=object),
                        "reason": reasons[bad].to_numpy(),
                        "_pos": reasons.index[bad].to_numpy(),
                    }
                )
            )

    def require(self, name: str) -> None:
        """Flag rows where a required field is empty."""
        codes, uniques = codes_and_uniques(self.column(name))
        empty = np.array([v.strip() == "" for v in uniques] + [False], dtype=bool)[codes]
        reasons = np.where(empty, f"{name} is empty", None).astype(object)  # type: ignore[call-overload]
        self.flag(name, pd.Series(reasons, index=self.text.index, dtype=object))

    def attributes(self) -> pd.Series:
        """JSON object of the non-empty unmapped cells of each row."""
        unmapped = [c for c in self.text.columns if c not in set(self.mapping.values())]
        result = np.full(len(self.text), "", dtype=object)
        for name in unmapped:
            # One JSON fragment per distinct cell, then joined: the same text as json.dumps of
            # the row's non-empty cells, without a Python call per row.
            codes, uniques = codes_and_uniques(self.text[name])
            key = json.dumps(name, ensure_ascii=False)
            pieces = np.array(
                ["" if not v.strip() else f"{key}: {json.dumps(v, ensure_ascii=False)}" for v in uniques] + [""],
                dtype=object,
            )
            fragment = pieces[codes]
            if not (fragment != "").any():
                continue
            if not (result != "").any():
                result = fragment
                continue
            joiner = np.where((result != "") & (fragment != ""), ", ", "")
            result = result + joiner + fragment
        # Wrap each distinct row text once ("{}" for rows without extra cells).
        codes, uniques = pd.factorize(result)
        wrapped = np.array(["{" + u + "}" for u in uniques], dtype=object)
        return pd.Series(wrapped[codes] if len(codes) else wrapped[:0], index=self.text.index, dtype=object)

    def problem_frame(self) -> pd.DataFrame:
        if not self.problems:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in (*REJECT_COLUMNS, "_pos")})
        return pd.concat(self.problems, ignore_index=True)


def _as_text(column: pd.Series) -> pd.Series:
    """Cells as a ``Categorical`` of ``str`` ("" for missing), each distinct value once."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        if (
            categories.dtype == object
            and pd.api.types.infer_dtype(categories, skipna=False) == "string"
            and not (column.cat.codes < 0).any()
        ):
            return column
        column = column.astype(object)
    if not (column.dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string"):
        column = column.astype(object).where(column.notna(), "").map(lambda v: str(v)).astype(object)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(np.asarray(uniques, dtype=object), dtype=object)),
        index=column.index,
    )


def _check_mapping(columns: Sequence[str], mapping: Mapping[str, str], fields: Sequence[str]) -> dict[str, str]:
    unknown = [f for f in mapping if f not in fields]
    if unknown:
        raise ImportFileError(f"unknown field(s) {', '.join(unknown)}; known fields: {', '.join(fields)}")
    missing = {f: c for f, c in mapping.items() if c not in columns}
    if missing:
        listed = ", ".join(f"{f}={c}" for f, c in missing.items())
        raise ImportFileError(f"mapped column(s) not in the file: {listed}; columns are: {', '.join(columns)}")
    return dict(mapping)


def _require_mapped(mapping: Mapping[str, str], field_name: str) -> None:
    if field_name not in mapping:
        raise ImportFileError(f"no {field_name} column found; map one with --map {field_name}=COLUMN")


def _finish(
    rows: _Rows,
    data: pd.DataFrame,
    *,
    columns: Sequence[str],
    schema: pa.DataFrameSchema,
    key_field: str,
    what: str,
    default_store: str | None = None,
) -> PreparedImport:
    """Split rows into accepted / rejects, drop in-file duplicates, validate, count."""
    data["row_number"] = rows.row_number
    data["attributes"] = rows.attributes()
    problems = rows.problem_frame()
    bad_positions = set(problems["_pos"].tolist())
    good = data.loc[~data.index.isin(list(bad_positions))] if bad_positions else data

    duplicate = good["dedupe_key"].duplicated(keep="first")
    if duplicate.any():
        first_row = good.groupby("dedupe_key", sort=False)["row_number"].transform("first")
        reasons = [f"duplicate of row {n}" for n in first_row[duplicate]]
    else:
        reasons = []
    duplicates = pd.DataFrame(
        {
            "row_number": good.loc[duplicate, "row_number"].to_numpy(),
            "field": key_field,
            "value": good.loc[duplicate, "dedupe_key"].to_numpy(),
            "reason": reasons,
            "_pos": good.index[duplicate].to_numpy(),
        }
    )
    accepted = good.loc[~duplicate, list(columns)] if duplicate.any() else good[list(columns)]
    accepted, schema_problems = _validate(accepted, schema)
    parts = [p for p in (problems, duplicates, schema_problems) if len(p)]
    rejects = pd.concat(parts, ignore_index=True) if parts else problems
    rejects = (
        rejects.sort_values(["row_number", "_pos"], kind="stable")[list(REJECT_COLUMNS)]
        .astype({"row_number": "int64"})
        .reset_index(drop=True)
    )
    rejected_positions = bad_positions | set(schema_problems["_pos"].tolist())
    ambiguous = problems.loc[problems["reason"].map(is_ambiguous_reason), "_pos"].nunique()
    result = PreparedImport(
        accepted=accepted.reset_index(drop=True),
        rejects=rejects,
        read=len(data),
        duplicates_in_file=int(duplicate.sum()),
        rejected=len(rejected_positions),
        blank_rows=rows.blank_rows,
        mapping=dict(rows.mapping),
        ambiguous_dates=int(ambiguous),
        default_store=default_store,
    )
    return result


def _validate(accepted: pd.DataFrame, schema: pa.DataFrameSchema) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Schema-check accepted rows; failing rows move to rejects instead of failing the import."""
    if _passes(accepted, schema):
        # The vectorised pre-check found nothing pandera would report: skip its slower pass.
        return accepted, _empty_problems()
    try:
        return schema.validate(accepted, lazy=True), _empty_problems()
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        row_level = cases[cases["index"].notna()]
        if len(row_level) < len(cases):
            # A whole-column failure (wrong dtype) is a bug in this module, not bad user data.
            raise RuntimeError(f"prepared frame violates its schema: {cases}") from exc
        positions = row_level["index"].astype("int64")
        problems = pd.DataFrame(
            {
                "row_number": accepted.loc[positions, "row_number"].to_numpy(),
                "field": row_level["column"].to_numpy(),
                "value": row_level["failure_case"].astype(str).to_numpy(),
                "reason": [
                    f"{c} failed check {k}" for c, k in zip(row_level["column"], row_level["check"], strict=True)
                ],
                "_pos": positions.to_numpy(),
            }
        )
        return accepted.drop(index=positions.unique()), problems


def _passes(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """Whether ``frame`` certainly satisfies ``schema`` (``False`` = let pandera decide)."""
    if schema is BOOKING_SCHEMA:
        checks: dict[str, str] = {
            "scheduled_at": "datetime64[ns]",
            "created_at": "datetime64[ns]",
            "birthday": "datetime64[ns]",
            "amount": "float64",
            "addon_amount": "float64",
            "quantity": "int64",
            "designated": "bool",
            "row_number": "int64",
        }
    else:
        return False
    for name, dtype in checks.items():
        if name not in frame.columns or str(frame[name].dtype) != dtype:
            return False
    for name in ("customer_id", "status", "dedupe_key", "attributes"):
        if name not in frame.columns or frame[name].dtype != object:
            return False
    customer = frame["customer_id"]
    codes, uniques = pd.factorize(customer, use_na_sentinel=True)
    if (codes < 0).any() or not all(isinstance(v, str) and v != "" for v in uniques):
        return False
    if frame["scheduled_at"].isna().any() or frame["designated"].isna().any():
        return False
    if not frame["status"].isin(BOOKING_STATUSES).all():
        return False
    for name, low in (("amount", 0), ("addon_amount", 0), ("quantity", 1), ("row_number", 1)):
        values = frame[name]
        if values.isna().any() or not (values >= low).all():
            return False
    keys = frame["dedupe_key"]
    if keys.isna().any() or keys.duplicated().any() or frame["attributes"].isna().any():
        return False
    return True


def _empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in (*REJECT_COLUMNS, "_pos")})


def all_rejected_message(result: PreparedImport, what: str = "booking") -> str:
    """English explanation for an import whose every row was rejected (CLI and logs)."""
    if result.ambiguous_dates == result.rejected and result.rejected:
        return (
            f"every {what} row has an ambiguous date such as 05/01/2024; choose day-first or "
            "month-first (the dayfirst option) and import again"
        )
    common = result.rejects["reason"].value_counts()
    top = common.index[0] if len(common) else "unknown problem"
    return (
        f"every one of the {result.read} {what} rows was rejected; most common problem: {top}. "
        "Download the reject report, fix the file or the column mapping, and import again"
    )


def _stable_hash(parts: pd.DataFrame) -> pd.Series:
    """A key that survives re-exports: same canonical identity → same hash, in any encoding."""

    def one(row: tuple[object, ...]) -> str:
        payload = json.dumps([None if pd.isna(v) else str(v) for v in row], ensure_ascii=False)
        return "h:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]

    return pd.Series([one(r) for r in parts.itertuples(index=False, name=None)], index=parts.index, dtype=object)


# ----------------------------------------------------------------------------------- bookings


def prepare_bookings(
    raw: pd.DataFrame | RawTable, mapping: Mapping[str, str], *, options: ImportOptions | None = None
) -> PreparedImport:
    """Parse and validate a booking log.

    Parameters
    ----------
    raw
        Raw string cells (``RawTable.frame``, whose ``row_number`` index gives the line numbers
        shown to the user; any other frame is assumed to start on line 2).
    mapping
        ``{canonical field: column}``; ``customer_id`` and ``date`` are required.
    options
        Country, date order, status vocabulary, default store, timezone handling.

    Returns
    -------
    PreparedImport
        ``accepted`` has the columns ``ACCEPTED_BOOKING_COLUMNS``. ``dedupe_key`` is the
        booking id when present, else a hash of customer, visit time, store, service, staff and
        pet, so a re-export with an updated status or amount maps to the same key.

    Raises
    ------
    ImportFileError
        No customer_id/date column, or a mapping naming missing columns. A file whose every
        row is rejected is returned (``all_rejected``) so the caller can report the reasons.
    """
    options = options or ImportOptions()
    rows = _Rows(raw, mapping, BOOKING_FIELDS)
    _require_mapped(rows.mapping, "customer_id")
    _require_mapped(rows.mapping, "date")
    if rows.text.empty:
        raise ImportFileError("the file has a header row but no data rows")

    data = pd.DataFrame(index=rows.text.index)
    for name in ("booking_id", "customer_id", "customer_name", "line_id", "pet_name", "pet_breed", "service", "staff"):
        data[name] = rows.take(name, parse_text(rows.column(name)))
    rows.require("customer_id")

    phone = parse_phones(rows.column("phone"), options.default_country)
    data["phone"] = rows.take("phone", phone)
    data["phone_raw"] = parse_text(rows.column("phone")).values
    data["email"] = rows.take("email", parse_emails(rows.column("email")))
    birthday = parse_dates(rows.column("birthday"), dayfirst=options.dayfirst)
    data["birthday"] = rows.take("birthday", birthday).dt.normalize()
    data["pet_species"] = normalise_species(rows.column("pet_species"))
    data["store"] = parse_text(rows.column("store")).values.where(lambda s: s.notna(), options.default_store)
    data["designated"] = rows.take("designated", parse_booleans(rows.column("designated"), empty=False))
    data["status"] = rows.take("status", parse_statuses(rows.column("status"), options.statuses))

    dates = parse_dates(
        rows.column("date"), dayfirst=options.dayfirst, timezone=options.timezone, min_year=options.min_year
    )
    scheduled = rows.take("date", dates)
    rows.require("date")
    if "time" in rows.mapping:
        times = rows.take("time", parse_times(rows.column("time")))
        # A separate time column wins over any time of day inside the date cell.
        scheduled = scheduled.where(times.isna(), scheduled.dt.normalize() + times)
    data["scheduled_at"] = scheduled.astype("datetime64[ns]")

    data["amount"] = rows.take("amount", parse_amounts(rows.column("amount"), empty=0.0))
    data["addon_amount"] = rows.take("addon_amount", parse_amounts(rows.column("addon_amount"), empty=0.0))
    data["quantity"] = rows.take("quantity", parse_quantities(rows.column("quantity")))
    created = parse_dates(
        rows.column("created_at"), dayfirst=options.dayfirst, timezone=options.timezone, min_year=options.min_year
    )
    data["created_at"] = rows.take("created_at", created).astype("datetime64[ns]")
    data["channel"] = normalise_channels(rows.column("channel"))

    no_id = data["booking_id"].isna()
    identity = data.loc[no_id, ["customer_id", "scheduled_at", "store", "service", "staff", "pet_name"]].astype(object)
    hashed = _stable_hash(identity).reindex(data.index)
    data["dedupe_key"] = data["booking_id"].where(~no_id, hashed)
    return _finish(
        rows,
        data,
        columns=ACCEPTED_BOOKING_COLUMNS,
        schema=BOOKING_SCHEMA,
        key_field="booking_id" if "booking_id" in rows.mapping else "row",
        what="booking",
        default_store=options.default_store,
    )


# ---------------------------------------------------------------------------------- customers


def prepare_customers(
    raw: pd.DataFrame | RawTable, mapping: Mapping[str, str], options: ImportOptions | None = None
) -> PreparedImport:
    """Parse and validate a member list (same conventions as :func:`prepare_bookings`).

    Consent columns read yes/no words into a nullable boolean: ``<NA>`` when the column is not
    mapped or the cell is empty, so "unknown" is never mistaken for "refused" or "agreed".
    ``tags`` become a JSON list; ``dedupe_key`` is the customer id.
    """
    options = options or ImportOptions()
    rows = _Rows(raw, mapping, CUSTOMER_FIELDS)
    _require_mapped(rows.mapping, "customer_id")
    if rows.text.empty:
        raise ImportFileError("the file has a header row but no data rows")

    data = pd.DataFrame(index=rows.text.index)
    for name in ("customer_id", "customer_name", "line_id"):
        data[name] = rows.take(name, parse_text(rows.column(name)))
    rows.require("customer_id")
    data["phone"] = rows.take("phone", parse_phones(rows.column("phone"), options.default_country))
    data["phone_raw"] = parse_text(rows.column("phone")).values
    data["email"] = rows.take("email", parse_emails(rows.column("email")))
    data["birthday"] = rows.take(
        "birthday", parse_dates(rows.column("birthday"), dayfirst=options.dayfirst)
    ).dt.normalize()
    data["store"] = parse_text(rows.column("store")).values.where(lambda s: s.notna(), options.default_store)
    for name in CONSENT_FIELDS:
        data[name] = rows.take(name, parse_booleans(rows.column(name), empty=None))
    data["tags"] = parse_tags(rows.column("tags")).values.map(lambda t: json.dumps(t, ensure_ascii=False))
    joined = parse_dates(rows.column("joined_on"), dayfirst=options.dayfirst, min_year=options.min_year)
    data["joined_on"] = rows.take("joined_on", joined).dt.normalize()
    data["dedupe_key"] = data["customer_id"]  # rows without one are rejected by require()
    return _finish(
        rows,
        data,
        columns=ACCEPTED_CUSTOMER_COLUMNS,
        schema=CUSTOMER_SCHEMA,
        key_field="customer_id",
        what="member",
        default_store=options.default_store,
    )
