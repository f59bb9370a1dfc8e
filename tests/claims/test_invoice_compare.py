import pytest

from claims.invoice_reader.compare import (
    MATCH,
    MISMATCH,
    NEEDS_REVIEW,
    NOT_FOUND,
    PASS,
    PROBABLE,
    invoice_compare,
)
from claims.invoice_reader.fields import FieldReading, InvoiceReading

VALUES = {
    "invoice_code": "144001900111",
    "invoice_number": "12345678",
    "issue_date": "2024-05-01",
    "buyer_name": "张伟",
    "buyer_id": "11010519491231002X",
    "seller_name": "无锡华瑞汽车销售服务有限公司",
    "seller_id": "91320115MA202UKD7X",
    "vin": "1M8GDM9AXKP042788",
    "vehicle_model": "大众汽车牌SVW7201",
    "price_excl_tax": "200000.00",
    "tax_amount": "26000.00",
    "total_amount": "226000.00",
}


def _reading(confidence=95, valid=True, **changes) -> InvoiceReading:
    values = {**VALUES, **changes}
    return InvoiceReading(
        fields={
            name: FieldReading(value=value, confidence=confidence, valid=valid)
            for name, value in values.items()
            if value is not None
        }
    )


def test_invoice_compare_passes_when_every_field_matches():
    comparison = invoice_compare(_reading(), VALUES)

    assert comparison.result == PASS
    assert {item.result for item in comparison.fields.values()} == {MATCH}


def test_invoice_compare_normalises_amounts_dates_and_case():
    # given claim values typed differently from the invoice's
    claim = {**VALUES, "total_amount": "226,000", "vin": "1m8gdm9axkp042788"}

    comparison = invoice_compare(_reading(), claim)

    assert comparison.result == PASS


@pytest.mark.parametrize("confidence", [100, 60, 10])
@pytest.mark.parametrize("valid", [True, None, False])
@pytest.mark.parametrize(
    ("name", "claim_value"),
    [
        ("vin", "1M8GDM9AXKP042789"),  # one VIN character changed
        ("vin", "1M8GDM9AXKP04278B"),
        ("total_amount", "226000.01"),  # one cent
        ("total_amount", "226001.00"),
        ("invoice_number", "12345679"),
    ],
)
def test_a_claim_value_one_character_off_is_never_a_match(name, claim_value, confidence, valid):
    # given an invoice read with any confidence and any check outcome
    reading = _reading(confidence=confidence, valid=valid)

    # when the claim differs in one character
    comparison = invoice_compare(reading, {**VALUES, name: claim_value})

    # then that field is not a match and the invoice does not pass
    assert comparison.fields[name].result in {PROBABLE, MISMATCH}
    assert comparison.result != PASS


def test_a_small_difference_read_with_low_confidence_is_probable():
    reading = _reading(confidence=60, vin="1M8GDM9AXKP042783")

    comparison = invoice_compare(reading, VALUES)

    assert comparison.fields["vin"].result == PROBABLE
    assert comparison.fields["vin"].reason == "low_confidence"
    assert comparison.result == NEEDS_REVIEW


def test_a_small_difference_read_with_high_confidence_is_a_mismatch():
    reading = _reading(confidence=99, vin="1M8GDM9AXKP042783")

    comparison = invoice_compare(reading, VALUES)

    assert comparison.fields["vin"].result == MISMATCH
    assert comparison.result == MISMATCH


def test_a_large_difference_is_a_mismatch_whatever_the_confidence():
    reading = _reading(confidence=20, total_amount="126500.00")

    comparison = invoice_compare(reading, VALUES)

    assert comparison.fields["total_amount"].result == MISMATCH
    assert comparison.result == MISMATCH


def test_the_same_value_with_a_failed_check_is_probable():
    reading = _reading(valid=False)

    comparison = invoice_compare(reading, VALUES)

    assert comparison.fields["vin"].result == PROBABLE
    assert comparison.fields["vin"].reason == "check_failed"
    assert comparison.result == NEEDS_REVIEW


def test_a_field_not_read_needs_review_and_a_field_not_claimed_is_not_compared():
    reading = _reading(vin=None)
    claim = {**VALUES, "vehicle_model": None}

    comparison = invoice_compare(reading, claim)

    assert comparison.fields["vin"].result == NOT_FOUND
    assert "vehicle_model" not in comparison.fields
    assert comparison.result == NEEDS_REVIEW


def test_an_unreadable_invoice_needs_review():
    comparison = invoice_compare(InvoiceReading(status="unreadable", error="corrupt"), VALUES)

    assert comparison.result == NEEDS_REVIEW
    assert {item.result for item in comparison.fields.values()} == {NOT_FOUND}
