"""Pure parsing/validation half of the booking and member import.

Typical flow (the `db/` layer then writes ``accepted`` and keeps ``rejects``)::

    table = read_table(data, filename)
    mapping = merge_mapping(suggest_mapping(list(table.frame.columns)),
                            parse_mapping_args(map_args, list(table.frame.columns)))
    prepared = prepare_bookings(table.frame, mapping, options=ImportOptions(default_store=store))
    report = reject_report_csv(prepared.rejects)
"""

from .errors import ImportFileError
from .mapping import (
    ALL_FIELDS,
    BOOKING_FIELDS,
    CUSTOMER_FIELDS,
    SYNONYMS,
    merge_mapping,
    parse_mapping_args,
    suggest_mapping,
    unmapped_lookalikes,
)
from .parsers import (
    DEFAULT_STATUS_WORDS,
    MAX_AMOUNT,
    Parsed,
    StatusVocabulary,
    parse_amounts,
    parse_booleans,
    parse_date_value,
    parse_dates,
    parse_emails,
    parse_phone_value,
    parse_phones,
    parse_quantities,
    parse_statuses,
    parse_time_value,
    parse_times,
)
from .prepare import (
    ACCEPTED_BOOKING_COLUMNS,
    ACCEPTED_CUSTOMER_COLUMNS,
    REJECT_COLUMNS,
    ImportOptions,
    PreparedImport,
    all_rejected_message,
    prepare_bookings,
    prepare_customers,
)
from .reader import DEFAULT_MAX_BYTES, MAX_CELL_CHARS, MAX_COLUMNS, RawTable, read_table
from .reasons import REASON_CODES, file_error_code, group_reasons, grouped_summary, reason_code
from .safe_csv import (
    frame_to_excel_csv,
    neutralise_cell,
    neutralise_frame,
    reject_report_csv,
)

__all__ = [
    "MAX_AMOUNT",
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "REASON_CODES",
    "all_rejected_message",
    "file_error_code",
    "group_reasons",
    "grouped_summary",
    "reason_code",
    "unmapped_lookalikes",
    "ACCEPTED_BOOKING_COLUMNS",
    "ACCEPTED_CUSTOMER_COLUMNS",
    "ALL_FIELDS",
    "BOOKING_FIELDS",
    "CUSTOMER_FIELDS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_STATUS_WORDS",
    "REJECT_COLUMNS",
    "SYNONYMS",
    "ImportFileError",
    "ImportOptions",
    "Parsed",
    "PreparedImport",
    "RawTable",
    "StatusVocabulary",
    "frame_to_excel_csv",
    "merge_mapping",
    "neutralise_cell",
    "neutralise_frame",
    "parse_amounts",
    "parse_booleans",
    "parse_date_value",
    "parse_dates",
    "parse_emails",
    "parse_mapping_args",
    "parse_phone_value",
    "parse_phones",
    "parse_quantities",
    "parse_statuses",
    "parse_time_value",
    "parse_times",
    "prepare_bookings",
    "prepare_customers",
    "read_table",
    "reject_report_csv",
    "suggest_mapping",
]
