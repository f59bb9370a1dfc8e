"""Every workbook the platform writes: user text stays text.

A name like `=HYPERLINK(...)` or `=1+1` must reach Excel as the characters typed, never as a
formula (CSV/formula injection), and a phone number must not turn into a number.
"""

import xlsxwriter

TEXT_SAFE = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}


def workbook_open(output, *, constant_memory=False, **options) -> xlsxwriter.Workbook:
    """An xlsxwriter workbook that writes every str as a text cell. `constant_memory` for large
    exports (rows must then be written in order)."""
    return xlsxwriter.Workbook(
        output,
        {"in_memory": True, "constant_memory": constant_memory, **TEXT_SAFE, **options},
    )
