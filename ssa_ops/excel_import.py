"""The one Excel import pipeline: calamine reader -> per-row validation -> all-or-nothing apply.

A feature describes its workbook with an ImportSpec (sheets, columns, cross-row checks and a
bulk apply). When any row is bad nothing is written and an error workbook marks every bad cell.
"""

import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.db import transaction
from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

from ssa_ops.errors import ApplicationError

Progress = Callable[[int, int, str], None]


def _no_progress(done, total, message):
    return None


@dataclass(frozen=True)
class Column:
    """One column of an import sheet. `parse` turns the cell text into a value or raises
    ValueError with a message for the user."""

    key: str
    header: str
    required: bool = False
    parse: Callable[[str], Any] = str
    aliases: tuple[str, ...] = ()

    def matches(self, header: str) -> bool:
        wanted = {self.header.casefold(), *(alias.casefold() for alias in self.aliases)}
        return header.strip().casefold() in wanted


@dataclass(frozen=True)
class SheetSpec:
    name: str
    columns: tuple[Column, ...]
    required: bool = True
    aliases: tuple[str, ...] = ()


@dataclass
class ParsedRow:
    number: int  # the row number the user sees in Excel
    values: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int
    column: str
    message: str

    def as_dict(self):
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass
class ImportResult:
    ok: bool
    rows: int
    errors: list[RowError] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    error_workbook: bytes | None = None


class ImportSpec:
    """Subclass per import: set `sheets`, implement `validate` (cross-row and database checks)
    and `apply` (bulk writes; runs inside one transaction)."""

    sheets: tuple[SheetSpec, ...] = ()

    def validate(self, rows: dict[str, list[ParsedRow]], report: "ErrorReport") -> None:
        return None

    def apply(self, rows: dict[str, list[ParsedRow]], *, actor, progress: Progress) -> dict:
        raise NotImplementedError


class ErrorReport:
    def __init__(self):
        self.errors: list[RowError] = []

    def add(self, sheet: str, row: int, column: str, message: str) -> None:
        self.errors.append(RowError(sheet, row, column, str(message)))

    def __bool__(self):
        return bool(self.errors)


def cell_text(value) -> str:
    """A cell as the text a person typed: 13800138000.0 -> '13800138000', dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).strip()


@dataclass
class _Sheet:
    spec: SheetSpec
    title: str
    header: list[str]
    raw_rows: list[list[str]]  # every data row as text, including the header at index 0
    column_index: dict[str, int]  # Column.key -> position in the sheet


def _read_workbook(source, specs, report) -> dict[str, _Sheet]:
    try:
        if isinstance(source, bytes | bytearray):
            workbook = CalamineWorkbook.from_filelike(io.BytesIO(source))
        else:
            workbook = CalamineWorkbook.from_path(str(source))
    except Exception as error:
        raise ApplicationError(
            _("The file could not be read as an Excel workbook."), code="unreadable_file"
        ) from error
    available = {name.strip().casefold(): name for name in workbook.sheet_names}
    sheets = {}
    for index, spec in enumerate(specs):
        title = None
        for candidate in (spec.name, *spec.aliases):
            title = available.get(candidate.casefold()) or title
        if title is None and index == 0 and len(workbook.sheet_names) == 1:
            title = workbook.sheet_names[0]
        if title is None:
            if spec.required:
                report.add(
                    spec.name,
                    1,
                    "",
                    _("The workbook has no sheet named “%(name)s”.") % {"name": spec.name},
                )
            continue
        rows = workbook.get_sheet_by_name(title).to_python(skip_empty_area=False)
        text_rows = [[cell_text(value) for value in row] for row in rows]
        header = text_rows[0] if text_rows else []
        column_index = {}
        for column in spec.columns:
            position = next((i for i, h in enumerate(header) if column.matches(h)), None)
            if position is not None:
                column_index[column.key] = position
            elif column.required:
                report.add(spec.name, 1, column.header, _("Required column is missing."))
        sheets[spec.name] = _Sheet(spec, title, header, text_rows, column_index)
    return sheets


def _parse_rows(sheet: _Sheet, report: ErrorReport, progress: Progress, total: int, done: int):
    parsed = []
    columns = [c for c in sheet.spec.columns if c.key in sheet.column_index]
    for offset, raw in enumerate(sheet.raw_rows[1:], start=2):
        if not any(raw):
            continue
        values = {}
        for column in columns:
            position = sheet.column_index[column.key]
            text = raw[position] if position < len(raw) else ""
            if not text:
                if column.required:
                    report.add(sheet.spec.name, offset, column.header, _("This field is required."))
                values[column.key] = None
                continue
            try:
                values[column.key] = column.parse(text)
            except (ValueError, ArithmeticError) as error:
                report.add(
                    sheet.spec.name, offset, column.header, str(error) or _("Invalid value.")
                )
        parsed.append(ParsedRow(offset, values))
        done += 1
        if done % 2000 == 0:
            progress(done, total, _("Checking rows"))
    return parsed, done


def error_workbook_build(sheets: dict[str, _Sheet], errors: list[RowError]) -> bytes:
    """The uploaded sheets with every bad cell in red and its message as a comment, plus a
    list of all errors."""
    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_numbers": False})
    bad = book.add_format({"bg_color": "#F8D7DA", "font_color": "#842029", "border": 1})
    bold = book.add_format({"bold": True, "bg_color": "#E9ECEF"})
    summary = book.add_worksheet(_("Errors")[:31])
    for col, title in enumerate([_("Sheet"), _("Row"), _("Column"), _("Message")]):
        summary.write(0, col, title, bold)
    for index, error in enumerate(errors, start=1):
        summary.write_row(index, 0, [error.sheet, error.row, error.column, error.message])
    summary.set_column(0, 2, 16)
    summary.set_column(3, 3, 70)
    by_cell: dict[tuple[str, int], dict[str, str]] = {}
    for error in errors:
        by_cell.setdefault((error.sheet, error.row), {})[error.column] = error.message
    for name, sheet in sheets.items():
        worksheet = book.add_worksheet(sheet.title[:31])
        for r, raw in enumerate(sheet.raw_rows):
            row_errors = by_cell.get((name, r + 1))
            for c, text in enumerate(raw):
                header = sheet.header[c] if c < len(sheet.header) else ""
                message = None
                if row_errors:
                    message = next(
                        (
                            m
                            for col, m in row_errors.items()
                            if col and col.casefold() == header.strip().casefold()
                        ),
                        None,
                    )
                if message:
                    worksheet.write_string(r, c, text, bad)
                    worksheet.write_comment(r, c, message)
                else:
                    worksheet.write_string(r, c, text, bold if r == 0 else None)
            if row_errors and "" in row_errors:
                worksheet.write_comment(r, 0, row_errors[""])
        worksheet.freeze_panes(1, 0)
    book.close()
    return output.getvalue()


def import_template_build(spec: "type[ImportSpec] | ImportSpec") -> bytes:
    """An empty workbook for an import: one sheet per SheetSpec, headers in bold, each header's
    accepted names and whether it is required (*) as a comment."""
    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#E9ECEF"})
    for sheet_spec in spec.sheets:
        sheet = book.add_worksheet(sheet_spec.name[:31])
        for index, column in enumerate(sheet_spec.columns):
            sheet.write(0, index, column.header, bold)
            sheet.write_comment(
                0, index, " / ".join(column.aliases) + (" *" if column.required else "")
            )
            sheet.set_column(index, index, 22)
        sheet.freeze_panes(1, 0)
    book.close()
    return output.getvalue()


def excel_import_run(
    *, spec: ImportSpec, source, actor, progress: Progress | None = None
) -> ImportResult:
    """Read, check and (only when every row is good) apply a workbook in one transaction."""
    progress = progress or _no_progress
    report = ErrorReport()
    sheets = _read_workbook(source, spec.sheets, report)
    total = sum(max(len(sheet.raw_rows) - 1, 0) for sheet in sheets.values())
    progress(0, total, _("Reading the workbook"))
    rows: dict[str, list[ParsedRow]] = {}
    done = 0
    for name, sheet in sheets.items():
        rows[name], done = _parse_rows(sheet, report, progress, total, done)
    spec.validate(rows, report)
    row_count = sum(len(parsed) for parsed in rows.values())
    if report:
        errors = sorted(report.errors, key=lambda e: (e.sheet, e.row, e.column))
        return ImportResult(
            ok=False,
            rows=row_count,
            errors=errors,
            error_workbook=error_workbook_build(sheets, errors),
        )
    progress(total, total, _("Saving"))
    with transaction.atomic():
        summary = spec.apply(rows, actor=actor, progress=progress)
    return ImportResult(ok=True, rows=row_count, summary=summary)
