"""Logs never carry personal information: the filter on the configured handlers masks resident
ID numbers, mobile numbers and values of personal fields in messages, arguments, exception
text and stacks."""

import io
import logging

import pytest

from ssa_ops.logging import PersonalDataFilter, personal_text_scrub
from ssa_ops.personal_values import resident_id_valid
from tests.personal_data_app import fixtures

personal_app, personal_settings = fixtures.personal_app, fixtures.personal_settings

ID_NUMBER = "11010519491231002X"


@pytest.fixture
def log():
    """A logger writing through a handler with the filter, as settings.LOGGING configures."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    logger = logging.getLogger("tests.personal_data")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_the_configured_console_handler_carries_the_filter(settings):
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["personal_data"]
    console = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert any(isinstance(f, PersonalDataFilter) for h in console for f in h.filters)


def test_resident_ids_and_mobile_numbers_are_masked_in_messages_and_arguments(log):
    logger, stream = log
    logger.warning("buyer %s called from %s", ID_NUMBER.lower(), "+86 138-0013-8000")
    logger.warning("in the message: %s", "x")
    logger.warning(f"id {ID_NUMBER} tel 13912345678")  # noqa: G004 (what careless code does)
    written = stream.getvalue()
    assert "110105********002X" in written and "138****8000" in written
    assert "139****5678" in written
    assert ID_NUMBER not in written.upper() and "13800138000" not in written
    assert "0013-8000" not in written


def test_numbers_that_are_not_ids_or_mobiles_are_left_alone():
    # an 18-digit order number whose last digit is not the check of the other 17
    assert not resident_id_valid("320105198001010091")
    text = "order 320105198001010091, amount 13800, invoice 044001900111, 2026-11-25"
    assert personal_text_scrub(text) == text


def test_exception_text_is_masked(log):
    logger, stream = log
    try:
        raise ValueError(f"duplicate ID number {ID_NUMBER}")
    except ValueError:
        logger.exception("import failed for %s", "13800138000")
    written = stream.getvalue()
    assert "ValueError: duplicate ID number 110105********002X" in written
    assert "Traceback" in written and "138****8000" in written
    assert ID_NUMBER not in written and "13800138000" not in written


@pytest.mark.usefixtures("personal_settings")
def test_values_of_personal_fields_read_from_the_database_are_masked(db, personal_app, log):
    # given: an employee number (no pattern would find it) read from a record
    saved = personal_app.objects.create(number="A-1", employee_number="E7654321")
    employee_number = personal_app.objects.get(pk=saved.pk).employee_number.reveal()
    logger, stream = log
    # when: code logs the clear value, in the message and in an exception
    logger.error("employee %s rejected", employee_number)
    try:
        raise KeyError(employee_number)
    except KeyError:
        logger.exception("lookup failed")
    # then: only the masked form is written
    written = stream.getvalue()
    assert "E7654321" not in written and written.count("E7****21") == 2


def test_a_celery_worker_keeps_the_filter_on_its_logs():
    # given what `celery worker` does to logging when it starts
    from ssa_ops.celery import app
    from ssa_ops.logging import PersonalDataFilter

    app.log.setup_logging_subsystem(loglevel="INFO")
    # then the root logger's own handlers (not pytest's capture) still mask personal values
    handlers = [
        h for h in logging.getLogger().handlers if not type(h).__module__.startswith("_pytest")
    ]
    assert handlers
    assert all(
        any(isinstance(f, PersonalDataFilter) for f in handler.filters) for handler in handlers
    )
