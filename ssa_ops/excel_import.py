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

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ssa_ops.excel_export import workbook_open
from ssa_ops.tabular import tabular_open
from ssa_ops.texts import is_stored_text, text_render, text_store

Progress = Callable[[int, int, str], None]


def _no_progress(done, total, message):
    return None


@dataclass(frozen=True)
class Column:
    """One column of an import sheet. `parse` turns the cell text into a value or raises
    ValueError with a message for the user."""

    key: str
    header: str  # the English name; templates write it in the reader's language plus [key]
    required: bool = False
    parse: Callable[[str], Any] = str
    aliases: tuple[str, ...] = ()
    example: str = ""
    choices: tuple[str, ...] = ()  # offered as a drop-down in the template

    def matches(self, header: str) -> bool:
        header = header.strip().casefold()
        if header.endswith(f"[{self.key.casefold()}]"):
            return True
        return header in self._names()

    def _names(self) -> set[str]:
        names = {self.header.casefold(), self.key.casefold()}
        names.update(alias.casefold() for alias in self.aliases)
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                names.add(_(self.header).casefold())
        return names

    def label(self) -> str:
        """The column's header in the reader's language, with its code beside."""
        return f"{_(self.header)} [{self.key}]"


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
    """One bad cell. The sheet and column are the spec's source names and the message a stored
    text (texts.text_store): all three are translated for whoever reads the report."""

    sheet: str
    row: int
    column: str
    message: dict

    def as_dict(self):
        return {
            "sheet": text_store(self.sheet) if self.sheet else "",
            "row": self.row,
            "column": text_store(self.column) if self.column else "",
            "message": self.message,
        }

    @property
    def message_display(self) -> str:
        return text_render(self.message)


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

    def add(self, sheet: str, row: int, column: str, message) -> None:
        """`message`: a stored text (text_store), a lazy translation, or plain words."""
        if not is_stored_text(message):
            message = text_store(message)
        self.errors.append(RowError(sheet, row, column, message))

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


def _read_workbook(source, specs, report, filename="") -> dict[str, _Sheet]:
    """The sheets the spec asks for, as text rows. .xlsx, .xls and .csv are read alike, after
    the import limits were checked (tabular.TabularError when a file is over them)."""
    with tabular_open(source, filename) as workbook:
        return _read_sheets(workbook, specs, report)


def _read_sheets(workbook, specs, report) -> dict[str, _Sheet]:
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
        text_rows = [[cell_text(value) for value in row] for _number, row in workbook.rows(title)]
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
    example = [column.example for column in sheet.spec.columns]
    example_row = (
        [example[i] if i < len(example) else "" for i in range(len(sheet.header))]
        if any(example)
        and [c.key for c in sheet.spec.columns] == list(sheet.column_index)
        and list(sheet.column_index.values()) == list(range(len(sheet.column_index)))
        else None
    )
    for offset, raw in enumerate(sheet.raw_rows[1:], start=2):
        if not any(raw):
            continue
        if example_row is not None and raw[: len(example_row)] == example_row:
            continue  # the template's example row, left in by the user
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
                message = (error.args[0] if error.args else "") or gettext_lazy("Invalid value.")
                report.add(sheet.spec.name, offset, column.header, message)
        parsed.append(ParsedRow(offset, values))
        done += 1
        if done % 2000 == 0:
            progress(done, total, _("Checking rows"))
    return parsed, done


def error_workbook_build(sheets: dict[str, "_Sheet"], errors: list[RowError]) -> bytes:
    """The uploaded sheets with every bad cell in red and its message as a comment, plus a
    list of all errors, in the active language."""
    output = io.BytesIO()
    book = workbook_open(output)
    bad = book.add_format({"bg_color": "#F8D7DA", "font_color": "#842029", "border": 1})
    bold = book.add_format({"bold": True, "bg_color": "#E9ECEF"})
    summary = book.add_worksheet(_("Errors")[:31])
    for col, title in enumerate([_("Sheet"), _("Row"), _("Column"), _("Message")]):
        summary.write_string(0, col, title, bold)
    for index, error in enumerate(errors, start=1):
        summary.write_string(index, 0, _(error.sheet) if error.sheet else "")
        summary.write_number(index, 1, error.row)
        summary.write_string(index, 2, _(error.column) if error.column else "")
        summary.write_string(index, 3, error.message_display)
    summary.set_column(0, 2, 16)
    summary.set_column(3, 3, 70)
    by_cell: dict[tuple[str, int], dict[str, str]] = {}
    for error in errors:
        by_cell.setdefault((error.sheet, error.row), {})[error.column] = error.message_display
    for name, sheet in sheets.items():
        position_of = {
            column.header: sheet.column_index[column.key]
            for column in sheet.spec.columns
            if column.key in sheet.column_index
        }
        worksheet = book.add_worksheet(sheet.title[:31])
        for r, raw in enumerate(sheet.raw_rows):
            row_errors = by_cell.get((name, r + 1), {})
            bad_positions = {
                position_of[header]: message
                for header, message in row_errors.items()
                if header in position_of
            }
            for c, text in enumerate(raw):
                if c in bad_positions:
                    worksheet.write_string(r, c, text, bad)
                    worksheet.write_comment(r, c, bad_positions[c])
                else:
                    worksheet.write_string(r, c, text, bold if r == 0 else None)
            other = [m for header, m in row_errors.items() if header not in position_of]
            if other:
                worksheet.write_comment(r, 0, "\n".join(other))
        worksheet.freeze_panes(1, 0)
    book.close()
    return output.getvalue()


def error_report_build(*, spec: ImportSpec, source, filename: str, errors: list[dict]) -> bytes:
    """The error workbook of a refused import, built when it is downloaded so that it reads in
    the downloader's language: the file is read again and `errors` (RowError.as_dict) marked."""
    sheets = _read_workbook(source, spec.sheets, ErrorReport(), filename)
    row_errors = [
        RowError(
            (error.get("sheet") or {}).get("text", "") if error.get("sheet") else "",
            error["row"],
            (error.get("column") or {}).get("text", "") if error.get("column") else "",
            error["message"],
        )
        for error in errors
    ]
    return error_workbook_build(sheets, row_errors)


def import_template_build(spec: "type[ImportSpec] | ImportSpec") -> bytes:
    """An empty workbook for an import in the reader's language: one sheet per SheetSpec,
    each header with its code beside ("经销商代码 [code]"), the accepted names and whether it is
    required (*) as a comment, an example row, and drop-downs for choice columns."""
    output = io.BytesIO()
    book = workbook_open(output)
    bold = book.add_format({"bold": True, "bg_color": "#E9ECEF"})
    required = book.add_format({"bold": True, "bg_color": "#FFF3CD"})
    example = book.add_format({"italic": True, "font_color": "#6C757D"})
    for sheet_spec in spec.sheets:
        sheet = book.add_worksheet(_(sheet_spec.name)[:31])
        for index, column in enumerate(sheet_spec.columns):
            sheet.write_string(0, index, column.label(), required if column.required else bold)
            note = " / ".join((column.header, *column.aliases))
            if column.required:
                note += " — " + _("required")
            sheet.write_comment(0, index, note)
            if column.example:
                sheet.write_string(1, index, column.example, example)
            if column.choices:
                sheet.data_validation(
                    1, index, 10000, index, {"validate": "list", "source": list(column.choices)}
                )
            sheet.set_column(index, index, 24)
        sheet.freeze_panes(1, 0)
    book.close()
    return output.getvalue()


def excel_import_run(
    *, spec: ImportSpec, source, actor, progress: Progress | None = None, filename: str = ""
) -> ImportResult:
    """Read, check and (only when every row is good) apply a workbook in one transaction.

    `source` is the file's bytes, a path or an open file: .xlsx, .xls or .csv (a .csv is known
    by `filename`, or by not being a workbook when no name is given)."""
    progress = progress or _no_progress
    report = ErrorReport()
    sheets = _read_workbook(source, spec.sheets, report, filename)
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
