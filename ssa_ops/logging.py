"""Log lines never carry personal information: a filter on every handler (settings.LOGGING)
replaces resident ID numbers (18 characters with a valid GB 11643 check), mobile numbers and
the clear values of personal fields this process has read with their masked forms, in the
message, its arguments, the exception text and the stack."""

import logging
import traceback

from ssa_ops.personal_values import personal_text_scrub


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
