"""Log lines never carry personal information: a filter on every handler (settings.LOGGING)
replaces resident ID numbers (18 characters with a valid GB 11643 check), mobile numbers and
the clear values of personal fields this process has read with their masked forms, in the
message, its arguments, the exception text and the stack."""

import logging
import re
import traceback

# 18 characters, not inside a longer run of letters or digits; the check decides.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# A mainland mobile number, optionally with +86 / 86 and separators.
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9])")


def personal_text_scrub(text: str) -> str:
    """`text` with every personal value it holds masked."""
    if not text:
        return text
    from ssa_ops.personal_data import mask, remembered_values, resident_id_valid

    for clear, kind in remembered_values():
        if clear in text:
            text = text.replace(clear, mask(kind, clear))

    def resident_id(match):
        value = match.group(0).upper()
        return mask("id_number", value) if resident_id_valid(value) else match.group(0)

    text = _RESIDENT_ID.sub(resident_id, text)
    return _MOBILE.sub(lambda match: mask("phone", match.group(0)), text)


class PersonalDataFilter(logging.Filter):
    """Masks personal values in a record before any handler writes it (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, scrubbed
            message = f"{record.msg} {record.args}"
        record.msg, record.args = personal_text_scrub(message), None
        if record.exc_info:
            # The formatted exception replaces exc_info, so no handler formats the original.
            exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text, record.exc_info = personal_text_scrub(exc_text), None
        elif record.exc_text:
            record.exc_text = personal_text_scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = personal_text_scrub(record.stack_info)
        return True
