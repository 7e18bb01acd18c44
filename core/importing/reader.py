"""Read an uploaded CSV/TSV/TXT/XLSX/XLS file into a frame of raw string cells.

No type inference happens here: every cell is kept as the text the user sees, so that phone
numbers keep their leading zeros and ids such as ``00123`` survive. Typed parsing is done later
by :mod:`core.importing.parsers`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pandas as pd

from .errors import ImportFileError
from .text import clean_header

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Longest cell accepted, in characters: Excel's own limit for one cell. A booking log never
#: needs more; a longer cell is a broken or hostile file, refused before anything is parsed.
MAX_CELL_CHARS = 32_767
#: Most columns accepted. Booking exports have a few dozen; Excel's sheet limit is 16,384.
MAX_COLUMNS = 1_000
DELIMITERS = (",", "\t", ";", "|")
#: Pseudo-delimiter for files whose columns are separated by runs of spaces (e.g. the public
#: CDNOW log shipped with ``lifetimes``): cells then cannot contain spaces.
WHITESPACE = " "
ROW_NUMBER = "row_number"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BIFF_BOFS = (b"\x09\x00", b"\x09\x02", b"\x09\x04", b"\x09\x08")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_TEXT_EXTENSIONS = {"", ".csv", ".tsv", ".txt", ".tab", ".dat"}
_EXCEL_EXTENSIONS = {".xlsx", ".xlsm", ".xls"}
_SNIFF_RECORDS = 50


@dataclass(frozen=True)
class RawTable:
    """An uploaded table as raw text cells.

    Attributes
    ----------
    frame
        One column per header (clean, unique names), all cells ``str`` ("" when empty). The
        index, named ``row_number``, is the row as the user sees it in Excel or an editor
        (the header row is 1 when it is the first line).
    encoding
        Text encoding used for CSV-like files (``"utf-8-sig"``, ``"cp950"`` …); ``None`` for Excel.
    delimiter
        Field delimiter for CSV-like files; ``None`` for Excel.
    sheet
        Sheet name read from an Excel workbook; ``None`` for CSV-like files.
    header_row
        Row number of the header row (> 1 when title or blank rows precede it).
    notes
        Things the reader changed that the user may want to know (renamed headers …).
    """

    frame: pd.DataFrame
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    header_row: int = 1
    notes: tuple[str, ...] = field(default=())


def read_table(data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> RawTable:
    """Read an uploaded file into a :class:`RawTable`.

    Parameters
    ----------
    data
        The file content.
    filename
        Original name; its extension picks the reader, but the content's magic bytes win when
        they disagree (an ``.xlsx`` renamed ``.csv`` is still read as a workbook).
    max_bytes
        Larger files are refused.

    Raises
    ------
    ImportFileError
        Empty, oversized, binary/undecodable, unreadable workbook, or header without rows.
    """
    name = PurePath(filename or "").name or "the file"
    if len(data) > max_bytes:
        raise ImportFileError(
            f"{name} is {_size(len(data))}, larger than the {_size(max_bytes)} limit; "
            "split it by month or store and import the parts"
        )
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise ImportFileError(f"{name} is empty; export the bookings again and re-upload")

    extension = PurePath(name).suffix.lower()
    if data.startswith(_ZIP_MAGIC):
        if extension not in _EXCEL_EXTENSIONS | _TEXT_EXTENSIONS:
            raise ImportFileError(f"{name} is not a CSV or Excel file")
        rows, sheet = _read_xlsx(data, name)
        return _build(rows, name, encoding=None, delimiter=None, sheet=sheet)
    if data.startswith(_OLE2_MAGIC):
        rows, sheet = _read_xls(data, name)
        return _build(rows, name, encoding=None, delimiter=None, sheet=sheet)
    if extension == ".xls" and data[:2] in _BIFF_BOFS:
        # A bare BIFF stream (very old Excel or some POS exporters) without the OLE2 wrapper.
        rows, sheet = _read_xls(data, name)
        return _build(rows, name, encoding=None, delimiter=None, sheet=sheet)
    if extension in _EXCEL_EXTENSIONS:
        raise ImportFileError(
            f"{name} is named like an Excel file but is not a valid workbook; "
            "open it in Excel and save it again as .xlsx or CSV"
        )

    text, encoding = decode_text(data, name)
    _check_width(text, name)
    try:
        delimiter = sniff_delimiter(text, extension)
        if delimiter == WHITESPACE:
            rows = [line.split() for line in text.splitlines()]
            return _build(rows, name, encoding=encoding, delimiter=delimiter, sheet=None)
        fast = _read_arrow(data, text, name, encoding=encoding, delimiter=delimiter)
        if fast is not None:
            return fast
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        # The csv module's own limit (131,072 characters per field) or a malformed quote.
        if "field larger than field limit" in str(exc):
            raise _cell_too_long(name) from exc
        raise ImportFileError(
            f"{name} could not be read as CSV ({exc}); save it from Excel as CSV and re-upload"
        ) from exc
    return _build(rows, name, encoding=encoding, delimiter=delimiter, sheet=None)


def _check_width(text: str, name: str) -> None:
    """Refuse a file whose first lines hold more than ``MAX_COLUMNS`` cells, before splitting it.

    Looks at the lines the delimiter sniffer and the header finder will read (``_SNIFF_RECORDS``),
    so a million-cell line is refused here instead of being parsed.
    """
    start = 0
    for _ in range(_SNIFF_RECORDS):
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if max(line.count(d) for d in DELIMITERS) >= MAX_COLUMNS:
            raise _too_wide(name)
        if end < 0:
            return
        start = end + 1


def _too_wide(name: str) -> ImportFileError:
    return ImportFileError(
        f"{name} has more than {MAX_COLUMNS:,} columns; a booking export has far fewer. "
        "Check that this is the right file, or remove the extra columns and re-upload"
    )


def _cell_too_long(name: str, row: int | None = None) -> ImportFileError:
    where = f" (row {row})" if row is not None else ""
    return ImportFileError(
        f"{name} has a cell longer than {MAX_CELL_CHARS:,} characters{where}, the most one cell may hold; "
        "check that this is the right file, or shorten that cell and re-upload"
    )


# ------------------------------------------------------------------------- fast (Arrow) path

_ARROW_MIN_BYTES = 256 * 1024  # small files: the csv module is as fast and has no set-up cost


def _read_arrow(data: bytes, text: str, name: str, *, encoding: str, delimiter: str) -> RawTable | None:
    """Read a large, regular delimited file with pyarrow's CSV reader; ``None`` to fall back.

    Used only when the result is certain to equal the ``csv`` module path: the rows up to the
    header are one physical line each, the body has no empty lines and no bare ``\\r`` line
    ends, and every record has exactly the header's width (pyarrow refuses any other record,
    which sends the file to the general path). Cells stay exact text; each column comes back
    dictionary-encoded (a pandas ``Categorical`` of ``str``), so the many repeated values of a
    booking log are stored and parsed once.
    """
    if len(data) < _ARROW_MIN_BYTES:
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    head = list(itertools.islice(csv.reader(io.StringIO(text[:1_000_000], newline=""), delimiter=delimiter), 200))
    if sum(1 for r in head if any(c.strip() for c in r)) < _SNIFF_RECORDS:
        return None  # the header finder must see as many records as on the general path
    header_index = _find_header(head)
    if header_index is None or header_index + 1 >= len(head):
        return None
    lines = text[:1_000_000].split("\n", header_index + 1)
    if len(lines) <= header_index + 1:
        return None
    for i in range(header_index + 1):
        line = lines[i].removesuffix("\r")
        if "\r" in line or next(csv.reader([line], delimiter=delimiter), []) != head[i]:
            return None  # a quoted line break or an odd line end above the body
    # The body as UTF-8 bytes (the encoded lines above it skipped).
    skip = sum(len(line) + 1 for line in lines[: header_index + 1])
    if encoding in ("utf-8", "utf-8-sig"):
        bom = 3 if encoding == "utf-8-sig" else 0
        body = data[bom + len(text[:skip].encode("utf-8")) :]  # already valid UTF-8: no copy of the text
    else:
        body = text[skip:].encode("utf-8")
    if not body.strip() or b"\n\n" in body or b"\n\r\n" in body or body.count(b"\r") != body.count(b"\r\n"):
        return None
    headers, notes = _clean_headers(head[header_index])
    width = len(headers)
    if width > MAX_COLUMNS:
        raise _too_wide(name)
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20, encoding="utf8"),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=b'"' in body,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None  # ragged rows, stray quotes …: the csv module handles (and reports) them
    del body
    columns: dict[str, pd.Categorical] = {}
    blank = np.ones(table.num_rows, dtype=bool)
    for header, column_name in zip(headers, names, strict=True):
        encoded = table.column(column_name).combine_chunks().dictionary_encode()
        table = table.drop_columns([column_name])
        categories = np.array(encoded.dictionary.to_pylist(), dtype=object)
        if any(len(v) > MAX_CELL_CHARS for v in categories):
            raise _cell_too_long(name)
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        empty = np.array([not v.strip() for v in categories], dtype=bool)
        blank &= empty[codes] if len(codes) else blank
        if header.startswith("column_") and empty.all():
            continue  # an unnamed, entirely empty column: a formatting leftover
        columns[header] = pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object))
    numbers = np.arange(header_index + 2, header_index + 2 + len(blank), dtype=np.int64)
    frame = pd.DataFrame(columns)
    if blank.any():
        frame = frame.loc[~blank]
        numbers = numbers[~blank]
    if frame.empty:
        raise ImportFileError(
            f"{name} has a header row but no data rows; check that you exported the right date range or sheet"
        )
    frame.index = pd.Index(numbers, name=ROW_NUMBER)
    return RawTable(
        frame=frame,
        encoding=encoding,
        delimiter=delimiter,
        sheet=None,
        header_row=header_index + 1,
        notes=tuple(dict.fromkeys(notes)),
    )


# ----------------------------------------------------------------------------------- decoding


def decode_text(data: bytes, name: str = "the file") -> tuple[str, str]:
    """Decode CSV bytes, returning ``(text, encoding)``.

    UTF-8 (with or without BOM) is tried first because a strict UTF-8 decode of non-UTF-8 CJK
    bytes practically never succeeds. Big5/CP950 and GB18030 overlap heavily (most Big5 bytes
    are also valid GB18030), so when both decode the one whose header row contains more known
    column names wins, and charset-normalizer breaks any remaining tie.
    """
    if data.startswith(_UTF16_BOMS):
        # Excel's "Unicode text" export is UTF-16 with a BOM; the NUL bytes are not binary.
        try:
            return _strip_bom(data.decode("utf-16")), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise ImportFileError(
            f"{name} is not a text file (it contains binary data); "
            "upload the CSV or Excel export itself, not a renamed file"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass

    candidates: dict[str, str] = {}
    for encoding in ("cp950", "gb18030"):
        try:
            candidates[encoding] = data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if not candidates:
        raise ImportFileError(
            f"{name} could not be read as text (not UTF-8, Big5 or GB18030); "
            "save it from Excel as 'CSV UTF-8' and re-upload"
        )
    if len(candidates) == 1:
        encoding, text = next(iter(candidates.items()))
        return text, encoding
    return _tiebreak(data, candidates)


def _tiebreak(data: bytes, candidates: dict[str, str]) -> tuple[str, str]:
    from .mapping import known_header_count

    scores = {}
    for encoding, text in candidates.items():
        first_line = text.splitlines()[0] if text else ""
        cells = [c for d in DELIMITERS for c in first_line.split(d)]
        scores[encoding] = known_header_count(cells)
    best = max(scores.values())
    leaders = [e for e, s in scores.items() if s == best]
    if len(leaders) == 1:
        return candidates[leaders[0]], leaders[0]
    try:
        from charset_normalizer import from_bytes

        guess = from_bytes(data, cp_isolation=leaders).best()
    except Exception:  # noqa: BLE001 - the detector is only a hint
        guess = None
    if guess is not None:
        encoding = "cp950" if guess.encoding in {"big5", "cp950", "big5hkscs"} else "gb18030"
        if encoding in candidates:
            return candidates[encoding], encoding
    # Taiwanese shops are the majority of users; Big5 is the safer default.
    return candidates["cp950"], "cp950"


def _strip_bom(text: str) -> str:
    return text.removeprefix("\ufeff")


# ---------------------------------------------------------------------------------- delimiter


def sniff_delimiter(text: str, extension: str = "") -> str:
    """Pick the delimiter among comma, tab, semicolon and pipe.

    The winner is the delimiter that splits the header into the most fields while giving the
    same field count on most of the first records (quoted fields are respected).
    """
    sample_lines = _first_lines(text)
    sample = "\n".join(sample_lines)
    best, best_score = ("\t" if extension in {".tsv", ".tab"} else ","), (0.0, 0)
    for delimiter in DELIMITERS:
        records = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        if not records:
            continue
        width = len(records[0])
        if width < 2:
            continue
        consistent = sum(len(r) == width for r in records) / len(records)
        score = (round(consistent, 2), width)
        if score > best_score:
            best, best_score = delimiter, score
    if best_score == (0.0, 0):
        # No delimiter splits the header: columns separated by runs of spaces, when every
        # record has the header's width (a one-column file stays one column).
        split = [line.split() for line in sample_lines]
        if split and len(split[0]) >= 2 and all(len(r) == len(split[0]) for r in split):
            return WHITESPACE
    return best


def _first_lines(text: str) -> list[str]:
    """The first ``_SNIFF_RECORDS`` non-blank lines, without splitting the whole file."""
    size = 65536
    while size < len(text):
        lines = text[:size].splitlines()[:-1]  # the last line may be cut off
        non_blank = [line for line in lines if line.strip()]
        if len(non_blank) >= _SNIFF_RECORDS:
            return non_blank[:_SNIFF_RECORDS]
        size *= 4
    return [line for line in text.splitlines() if line.strip()][:_SNIFF_RECORDS]


# ---------------------------------------------------------------------------------- workbooks


def _read_xlsx(data: bytes, name: str) -> tuple[list[list[str]], str]:
    import zipfile

    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(
            f"{name} could not be opened as an Excel workbook ({exc}); "
            "open it in Excel and save it again as .xlsx or CSV"
        ) from exc
    try:
        for sheet in workbook.worksheets:
            rows = [[_excel_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            if any(any(cell.strip() for cell in row) for row in rows):
                return rows, sheet.title
    finally:
        workbook.close()
    raise ImportFileError(f"every sheet in {name} is empty; export the bookings again")


def _read_xls(data: bytes, name: str) -> tuple[list[list[str]], str]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:
        raise ImportFileError(
            f"{name} could not be opened as an Excel 97-2003 workbook ({exc}); "
            "open it in Excel and save it again as .xlsx or CSV"
        ) from exc
    for index in range(book.nsheets):
        sheet = book.sheet_by_index(index)
        rows = [[_xls_cell(sheet.cell(r, c), book.datemode) for c in range(sheet.ncols)] for r in range(sheet.nrows)]
        if any(any(cell.strip() for cell in row) for row in rows):
            return rows, sheet.name
    raise ImportFileError(f"every sheet in {name} is empty; export the bookings again")


def _excel_cell(value: object) -> str:
    """Render a workbook cell as the text a user would type for it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.strftime("%Y-%m-%d")
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.timedelta):
        total = round(value.total_seconds())
        return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
    if isinstance(value, float):
        return _format_number(value)
    return str(value)


def _format_number(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e17:
        # Keeps 912345678 from becoming "912345678.0" and phone numbers intact.
        return str(int(value))
    return format(value, ".15g")  # Excel shows at most 15 significant digits


def _xls_cell(cell: object, datemode: int) -> str:
    import xlrd

    ctype, value = cell.ctype, cell.value  # type: ignore[attr-defined]
    if ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    if ctype == xlrd.XL_CELL_DATE:
        try:
            return _excel_cell(xlrd.xldate_as_datetime(value, datemode))
        except Exception:  # noqa: BLE001 - keep the serial; the date parser understands it
            return _format_number(float(value))
    if ctype == xlrd.XL_CELL_NUMBER:
        return _format_number(float(value))
    if ctype == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    if ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#ERROR")
    return str(value)


# ------------------------------------------------------------------------------------ framing


def _build(
    rows: list[list[str]], name: str, *, encoding: str | None, delimiter: str | None, sheet: str | None
) -> RawTable:
    header_index = _find_header(rows)
    if header_index is None:
        raise ImportFileError(f"{name} is empty; export the bookings again and re-upload")
    if len(rows[header_index]) > MAX_COLUMNS:
        raise _too_wide(name)
    headers, notes = _clean_headers(rows[header_index])
    width = len(headers)
    body: list[list[str]] = []
    numbers: list[int] = []
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        cells = ["" if c is None else str(c) for c in row]
        if not any(c.strip() for c in cells):
            continue  # blank line: Excel shows it as an empty row, there is nothing to import
        if len(cells) > MAX_COLUMNS:
            raise _too_wide(name)
        if any(len(c) > MAX_CELL_CHARS for c in cells):
            raise _cell_too_long(name, offset)
        if len(cells) > width:
            # Never drop the extra cells: give them placeholder columns kept as attributes.
            for extra in range(width, len(cells)):
                headers.append(f"column_{extra + 1}")
            notes.append(f"row {offset} has more cells than the header; extra columns added")
            width = len(cells)
            for previous in body:
                previous.extend([""] * (width - len(previous)))
        body.append(cells + [""] * (width - len(cells)))
        numbers.append(offset)
    if not body:
        raise ImportFileError(
            f"{name} has a header row but no data rows; check that you exported the right date range or sheet"
        )
    frame = pd.DataFrame(body, columns=headers, dtype=object)
    # Unnamed, entirely empty columns are formatting leftovers (Excel's used range); dropping
    # them loses nothing.
    placeholder = [h for h in headers if h.startswith("column_") and not (frame[h].str.strip() != "").any()]
    frame = frame.drop(columns=placeholder)
    frame.index = pd.Index(numbers, name=ROW_NUMBER)
    return RawTable(
        frame=frame,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        header_row=header_index + 1,
        notes=tuple(dict.fromkeys(notes)),
    )


def _find_header(rows: list[list[str]]) -> int | None:
    """Index of the header row, skipping blank rows and a report title above the table."""
    non_blank: list[tuple[int, int]] = []
    for i, r in enumerate(rows):
        n = sum(1 for c in r if c is not None and str(c).strip())
        if n:
            non_blank.append((i, n))
            if len(non_blank) >= _SNIFF_RECORDS:
                break  # only the first records decide; a million-row file need not be scanned
    if not non_blank:
        return None
    widths = Counter(n for _, n in non_blank[:_SNIFF_RECORDS])
    typical = widths.most_common(1)[0][0]
    for i, n in non_blank[:5]:
        # A single filled cell above a wide table is a title such as "預約報表 2024/05".
        if not (n == 1 and typical >= 3):
            return i
    return non_blank[0][0]


def _clean_headers(raw: list[str]) -> tuple[list[str], list[str]]:
    headers: list[str] = []
    notes: list[str] = []
    seen: Counter[str] = Counter()
    for position, value in enumerate(raw, start=1):
        header = clean_header(value).lstrip("\ufeff")
        if not header:
            header = f"column_{position}"
        seen[header] += 1
        if seen[header] > 1:
            renamed = f"{header} ({seen[header]})"
            notes.append(f"duplicate header '{header}' renamed to '{renamed}'")
            header = renamed
        headers.append(header)
    return headers, notes


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"
