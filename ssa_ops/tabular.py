"""Rows out of the spreadsheets people send: .xlsx, .xls and .csv.

Every limit is checked before a row is read. An .xlsx is a zip: its parts are inflated in a
stream (never trusting the sizes its directory declares) to measure what it unpacks to, each
part's compression ratio and how many rows its sheets hold. A .csv is read once in a stream to
settle its encoding (UTF-8 with or without BOM, or GB18030, which covers GBK and GB2312) and
count its records. Only then are rows yielded, one at a time.
"""

import codecs
import csv
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from python_calamine import CalamineWorkbook

from ssa_ops.errors import ApplicationError
from ssa_ops.texts import text_store

XLSX, XLS, CSV = "xlsx", "xls", "csv"
KINDS = (XLSX, XLS, CSV)
# The names people know the encodings by, in the order they are tried.
CSV_ENCODINGS = ("UTF-8", "GB18030/GBK")
# A part of an .xlsx larger than _RATIO_FROM_BYTES that unpacks to more than this many times its
# packed size is refused: real sheets pack 5 to 30 times, zip bombs hundreds of times.
MAX_COMPRESSION_RATIO = 100
_RATIO_FROM_BYTES = 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 1024 * 1024
# A sheet row in SpreadsheetML: <row r="2">, or with a namespace prefix, <x:row>.
_ROW_TAGS = (b"<row ", b"<row>", b"<row\t", b"<row\n", b"<row\r", b"<row/")
_PREFIXED_ROW_TAG = re.compile(rb"<[A-Za-z_][\w.-]{0,31}:row[\s/>]")
_ROW_TAG_MAX = 40
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_UTF8_LONG_LEAD = re.compile(rb"[\xe0-\xf4]")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


class TabularError(ApplicationError):
    """The file cannot be imported as it is; `code` says why and `extra` holds the figures."""

    code = "unreadable_file"

    def __init__(self, code, message, params=None, **figures):
        params = params or {}
        super().__init__(
            message % params if params else message,
            code=code,
            extra={**params, **figures},
            text=text_store(message, **params),
        )


@dataclass(frozen=True)
class TabularInfo:
    """What the checks found, before any row was read."""

    kind: str
    size: int
    unpacked_bytes: int
    rows: int | None  # None for .xls: counted sheet by sheet as it is read
    encoding: str = ""  # .csv only: the Python codec its rows are decoded with
    delimiter: str = ","


def tabular_kind(head: bytes, filename: str = "") -> str | None:
    """The kind of a spreadsheet by its first bytes; a .csv has none, so by name, or (with no
    name at all) by having no NUL bytes. None when it is not a spreadsheet we read."""
    if head.startswith(b"PK\x03\x04"):
        return XLSX
    if head.startswith(OLE2_MAGIC):
        return XLS
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix in (".csv", ".txt") or (not filename and head and b"\x00" not in head):
        return CSV
    return None


@contextmanager
def _binary(source):
    """A seekable binary stream over bytes, a path or an open file (left open)."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            yield stream
    else:
        source.seek(0)
        yield source


def _stream_size(stream) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _megabytes(size: int) -> str:
    return f"{size / 1048576:.1f}"


def tabular_check(source, filename: str = "") -> TabularInfo:
    """Check a spreadsheet against the import limits without reading its rows.

    Raises TabularError with a message for the person who sent it.
    """
    with _binary(source) as stream:
        return _check(stream, filename)


def _check(stream, filename) -> TabularInfo:
    size = _stream_size(stream)
    head = stream.read(8192)
    stream.seek(0)
    kind = tabular_kind(head, filename)
    if kind is None:
        raise TabularError(
            "unsupported_file",
            _("The file is not a spreadsheet that can be imported (.xlsx, .xls or .csv)."),
        )
    if kind == XLSX:
        return _xlsx_check(stream, size)
    if kind == XLS:
        return TabularInfo(kind=XLS, size=size, unpacked_bytes=size, rows=None)
    return _csv_check(stream, size)


# .xlsx


def _xlsx_check(stream, size) -> TabularInfo:
    max_unpacked = settings.IMPORT_MAX_UNPACKED_BYTES
    max_rows = settings.IMPORT_MAX_ROWS
    try:
        archive = zipfile.ZipFile(stream)
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise _unreadable() from error
    if len(entries) > MAX_ZIP_ENTRIES:
        raise TabularError(
            "too_many_parts",
            _("The workbook has %(count)s parts; at most %(max)s can be read."),
            {"count": len(entries), "max": MAX_ZIP_ENTRIES},
        )
    if "xl/workbook.xml" not in {entry.filename for entry in entries}:
        raise TabularError("not_a_workbook", _("The file is not an Excel workbook (.xlsx)."))
    declared = sum(entry.file_size for entry in entries)
    if declared > max_unpacked:
        raise _unpacked_too_large(size, declared)
    # Sheets first, so that a sheet bomb stops at the row limit without inflating the rest.
    parts = sorted(entries, key=lambda entry: not entry.filename.startswith("xl/worksheets/"))
    unpacked = rows = 0
    for entry in parts:
        is_sheet = entry.filename.startswith("xl/worksheets/")
        entry_size, entry_rows = _entry_inflate(
            stream,
            entry,
            unpacked_before=unpacked,
            max_rows=max_rows - rows if is_sheet else None,
            archive_size=size,
        )
        unpacked += entry_size
        rows += entry_rows
    return TabularInfo(kind=XLSX, size=size, unpacked_bytes=unpacked, rows=rows)


def _unreadable():
    return TabularError("unreadable_file", _("The file could not be read as an Excel workbook."))


def _unpacked_too_large(size, unpacked):
    max_unpacked = settings.IMPORT_MAX_UNPACKED_BYTES
    return TabularError(
        "unpacked_too_large",
        _(
            "The workbook is %(size)s MB but unpacks to more than %(unpacked)s MB; "
            "at most %(max)s MB can be read. Split it into smaller files."
        ),
        {
            "size": _megabytes(size),
            "unpacked": _megabytes(min(unpacked, max_unpacked + 1)),
            "max": _megabytes(max_unpacked),
        },
        size=size,
        unpacked=unpacked,
        max=max_unpacked,
    )


def _too_many_rows(rows):
    max_rows = settings.IMPORT_MAX_ROWS
    return TabularError(
        "too_many_rows",
        _("The file has more than %(max)s rows; at most %(max)s can be imported at once."),
        {"max": f"{max_rows:,}"},
        rows=rows,
        max=max_rows,
    )


def _part_chunks(stream, entry, archive_size) -> Iterator[bytes]:
    """The unpacked bytes of one zip part, a chunk at a time, read from its local header on."""
    stream.seek(entry.header_offset)
    header = stream.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _unreadable()
    name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
    stream.seek(entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    packed_left = min(entry.compress_size, archive_size)
    if entry.compress_type == zipfile.ZIP_STORED:
        while packed_left:
            data = stream.read(min(_CHUNK, packed_left))
            if not data:
                raise _unreadable()
            packed_left -= len(data)
            yield data
        return
    if entry.compress_type != zipfile.ZIP_DEFLATED:
        raise _unreadable()
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    while not inflater.eof and (packed_left or inflater.unconsumed_tail):
        if inflater.unconsumed_tail:
            data = inflater.unconsumed_tail
        else:
            data = stream.read(min(_CHUNK // 4, packed_left))
            if not data:
                raise _unreadable()
            packed_left -= len(data)
        try:
            output = inflater.decompress(data, _CHUNK)
        except zlib.error as error:
            raise _unreadable() from error
        if output:
            yield output
    if not inflater.eof:
        raise _unreadable()


def _row_tags_count(buffer: bytes, limit: int) -> int:
    """Row tags that start before `limit` (bytes.count is far faster than a regex scan)."""
    head = buffer[: limit + 4]
    count = sum(head.count(tag) for tag in _ROW_TAGS)
    if b":row" in head:
        count += sum(1 for match in _PREFIXED_ROW_TAG.finditer(buffer) if match.start() < limit)
    return count


def _entry_inflate(stream, entry, *, unpacked_before, max_rows, archive_size) -> tuple[int, int]:
    """Inflate one zip part: (bytes it really unpacks to, rows counted in it).

    The directory's sizes are only claims; a part is measured by inflating it, and refused as
    soon as it passes the unpacked limit, its compression ratio or the row limit."""
    unpacked = rows = crc = 0
    tail = b""
    for output in _part_chunks(stream, entry, archive_size):
        unpacked += len(output)
        crc = zlib.crc32(output, crc)
        if unpacked_before + unpacked > settings.IMPORT_MAX_UNPACKED_BYTES:
            raise _unpacked_too_large(archive_size, unpacked_before + unpacked)
        if unpacked > _RATIO_FROM_BYTES and unpacked > MAX_COMPRESSION_RATIO * max(
            entry.compress_size, 1
        ):
            raise TabularError(
                "compression_ratio",
                _(
                    "The workbook part %(part)s unpacks to more than %(ratio)s times its "
                    "packed size; such files are refused as zip bombs."
                ),
                {"part": entry.filename, "ratio": MAX_COMPRESSION_RATIO},
                part=entry.filename,
                ratio=MAX_COMPRESSION_RATIO,
            )
        if max_rows is not None:
            # A row tag may straddle two chunks: the last few bytes are searched again with the
            # next chunk, and only tags starting before them are counted now.
            buffer = tail + output
            limit = max(len(buffer) - _ROW_TAG_MAX, 0)
            rows += _row_tags_count(buffer, limit)
            tail = buffer[limit:]
            if rows > max_rows:
                raise _too_many_rows(rows)
    if max_rows is not None:
        rows += _row_tags_count(tail, len(tail))
        if rows > max_rows:
            raise _too_many_rows(rows)
    if unpacked != entry.file_size or crc != entry.CRC:
        raise _unreadable()
    return unpacked, rows


# .csv


def _csv_check(stream, size) -> TabularInfo:
    """One streamed pass: the encoding every line agrees on, and the number of records."""
    has_bom = stream.read(3) == codecs.BOM_UTF8
    if not has_bom:
        stream.seek(0)
    first_utf8 = first_gb18030 = first_bad = None
    line_number = 0

    def lines():
        nonlocal line_number, first_utf8, first_gb18030, first_bad
        for line in iter(stream.readline, b""):
            line_number += 1
            if not line.isascii():
                encoding = _line_encoding(line)
                if encoding == "utf-8":
                    first_utf8 = first_utf8 or line_number
                elif encoding == "gb18030":
                    first_gb18030 = first_gb18030 or line_number
                elif encoding is None:
                    first_bad = line_number
                    return
                if (first_utf8 or has_bom) and first_gb18030:
                    return
            # Latin-1 keeps every byte; quotes, commas and line ends are ASCII in both
            # encodings (GB18030's trailing bytes are never one of them), so the count holds.
            yield line.decode("latin-1")

    records = 0
    delimiter = _delimiter(stream)
    try:
        for records, _row in enumerate(csv.reader(lines(), delimiter=delimiter), start=1):
            if records > settings.IMPORT_MAX_ROWS:
                raise _too_many_rows(records)
    except csv.Error as error:
        raise TabularError(
            "unreadable_file",
            _("The CSV file could not be read at line %(line)s: %(problem)s"),
            {"line": line_number, "problem": str(error)},
            line=line_number,
        ) from error
    if first_bad:
        raise TabularError(
            "csv_encoding",
            _(
                "Line %(line)s of the CSV file is in none of the encodings tried (%(tried)s). "
                "Save it again as CSV UTF-8."
            ),
            {"line": first_bad, "tried": ", ".join(CSV_ENCODINGS)},
            line=first_bad,
            tried=list(CSV_ENCODINGS),
        )
    if (first_utf8 or has_bom) and first_gb18030:
        raise TabularError(
            "csv_mixed_encodings",
            _(
                "The CSV file mixes encodings: line %(utf8)s is UTF-8 but line %(gbk)s is "
                "GB18030/GBK. Save the whole file again in one encoding (CSV UTF-8)."
            ),
            {"utf8": first_utf8 or 1, "gbk": first_gb18030},
            utf8_line=first_utf8 or 1,
            gbk_line=first_gb18030,
        )
    if has_bom:
        encoding = "utf-8-sig"
    elif first_gb18030:
        encoding = "gb18030"
    else:
        encoding = "utf-8"
    stream.seek(0)
    return TabularInfo(
        kind=CSV,
        size=size,
        unpacked_bytes=size,
        rows=records,
        encoding=encoding,
        delimiter=delimiter,
    )


def _line_encoding(line: bytes) -> str | None:
    """'utf-8' when the line can only be UTF-8, 'gb18030' when it is GB18030 (GBK), '' when
    both read it (short runs of two-byte UTF-8 such as GBK's 联通), None when neither does."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Chinese text in UTF-8 takes three bytes a character (lead bytes E0-EF); GBK text
        # that happens to be valid UTF-8 is made of two-byte sequences.
        if _UTF8_LONG_LEAD.search(line):
            return "utf-8"
        try:
            line.decode("gb18030")
        except UnicodeDecodeError:
            return "utf-8"
        return ""
    try:
        line.decode("gb18030")
    except UnicodeDecodeError:
        return None
    return "gb18030"


def _delimiter(stream) -> str:
    """Comma unless the header line plainly uses semicolons or tabs (European Excel, exports)."""
    position = stream.tell()
    header = stream.readline(65536)
    stream.seek(position)
    counts = {delimiter: header.count(delimiter.encode()) for delimiter in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


# Reading


class TabularBook:
    """An opened spreadsheet whose limits were checked; read its sheets with `rows`."""

    def __init__(self, stream, info: TabularInfo, filename: str):
        self.info = info
        self.kind = info.kind
        self._stream = stream
        self._rows_read = 0
        self._workbook = None
        if info.kind == CSV:
            stem = PurePath(filename).stem if filename else ""
            self.sheet_names = [_SHEET_NAME_FORBIDDEN.sub("_", stem)[:31].strip() or "CSV"]
            return
        try:
            self._workbook = CalamineWorkbook.from_filelike(stream)
            self.sheet_names = list(self._workbook.sheet_names)
        except Exception as error:
            raise _unreadable() from error

    def rows(self, sheet_name: str) -> Iterator[tuple[int, list]]:
        """(row number as the user sees it, cells) for every row from the first, empty rows as
        they are; .csv cells are text, workbook cells are calamine's Python values."""
        if self.kind == CSV:
            yield from self._csv_rows()
            return
        try:
            sheet = self._workbook.get_sheet_by_name(sheet_name)
        except Exception as error:
            raise _unreadable() from error
        # An .xls is not counted before it is opened: its sheet sizes are known once loaded.
        if self._rows_read + sheet.total_height > settings.IMPORT_MAX_ROWS:
            raise _too_many_rows(self._rows_read + sheet.total_height)
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            self._count()
            yield number, cells

    def _csv_rows(self):
        self._stream.seek(0)
        text = io.TextIOWrapper(self._stream, encoding=self.info.encoding, newline="")
        try:
            reader = csv.reader(text, delimiter=self.info.delimiter)
            for number, cells in enumerate(reader, start=1):
                self._count()
                yield number, cells
        except (csv.Error, UnicodeDecodeError) as error:
            raise TabularError(
                "unreadable_file",
                _("The CSV file could not be read: %(problem)s."),
                {"problem": str(error)},
            ) from error
        finally:
            text.detach()  # the caller's stream stays open

    def _count(self):
        self._rows_read += 1
        if self._rows_read > settings.IMPORT_MAX_ROWS:
            raise _too_many_rows(self._rows_read)


@contextmanager
def tabular_open(source, filename: str = "") -> Iterator[TabularBook]:
    """Check the limits, then open the spreadsheet for reading (bytes, a path or a file)."""
    with _binary(source) as stream:
        info = _check(stream, filename)
        stream.seek(0)
        yield TabularBook(stream, info, filename)


def rows_read(source, filename: str = "", *, sheets=None) -> Iterator[tuple[str, int, list]]:
    """(sheet name, row number, cells) for every row of the chosen sheets (all by default),
    one at a time, after every limit was checked. A .csv is one sheet named after the file."""
    with tabular_open(source, filename) as book:
        for name in book.sheet_names:
            if sheets is not None and name not in sheets:
                continue
            for number, cells in book.rows(name):
                yield name, number, cells
