import datetime
import random
from decimal import Decimal

import pytest

from claims.invoice_reader import validators
from claims.invoice_reader.fields import FULLY_DIGITAL, MOTOR_VEHICLE, VAT_ELECTRONIC, VAT_SPECIAL


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP042788", "11111111111111111", "5GZCZ43D13S812715"])
def test_vin_valid_accepts_a_correct_check_digit(vin):
    assert validators.vin_valid(vin) is True


@pytest.mark.parametrize(
    "vin",
    [
        "1M8GDM9A1KP042788",  # check digit changed
        "1M8GDM9AXKP042789",  # last character changed
        "1M8GDM9AXKP04278",  # 16 characters
        "1M8GDM9AXKPO42788",  # O is not a VIN character
    ],
)
def test_vin_valid_refuses_a_changed_or_malformed_vin(vin):
    assert validators.vin_valid(vin) is False


def test_resident_id_valid_checks_the_gb11643_check_character_and_birth_date():
    assert validators.resident_id_valid("11010519491231002X") is True
    assert validators.resident_id_valid("110105194912310021") is False
    assert validators.resident_id_valid("11010519491331002X") is False  # month 13


def test_party_id_valid_takes_credit_codes_resident_ids_and_old_tax_numbers():
    assert validators.party_id_valid("91320115MA202UKD7X") is True
    assert validators.party_id_valid("91320115MA202UKD7Y") is False
    assert validators.party_id_valid("11010519491231002X") is True
    assert validators.party_id_valid("51019800DK01187") is True  # 15 characters, no check
    assert validators.party_id_valid("91120118MA06APGOX") is False  # 17 characters


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("526.00", "伍佰贰拾陆圆整"),
        ("20000.00", "贰万圆整"),
        ("9.78", "玖圆柒角捌分"),
        ("1456.31", "壹仟肆佰伍拾陆圆叁角壹分"),
        ("100000.05", "壹拾万圆零伍分"),
        ("1010.01", "壹仟零壹拾圆零壹分"),
        ("0.50", "伍角整"),
        ("123456789.10", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖圆壹角整"),
    ],
)
def test_amount_words_both_ways(amount, words):
    assert validators.amount_to_words(amount) == words
    assert validators.words_to_amount(words) == Decimal(amount)


def test_words_to_amount_round_trips_random_amounts():
    # given a fixed sample of amounts from one cent to a hundred million
    rng = random.Random(7)
    amounts = [Decimal(rng.randrange(1, 10 ** rng.randrange(2, 11))) / 100 for _ in range(2000)]

    # then each one reads back from its words
    assert [
        a for a in amounts if validators.words_to_amount(validators.amount_to_words(a)) != a
    ] == []


def test_words_match_amount_refuses_a_different_total_and_garbage():
    assert validators.words_match_amount("⊗伍佰贰拾陆圆整", "526.00") is True
    assert validators.words_match_amount("伍佰贰拾陆圆整", "526.01") is False
    assert validators.words_to_amount("合计金额") is None


def test_amounts_add_up_is_exact():
    assert validators.amounts_add_up("510.68", "15.32", "526.00") is True
    assert validators.amounts_add_up("510.68", "15.32", "526.01") is False
    assert validators.amounts_add_up("510.68", "", "526.00") is False


def test_date_plausible_between_2000_and_tomorrow():
    today = datetime.date(2026, 1, 10)
    assert validators.date_plausible("2024-12-05", today) is True
    assert validators.date_plausible("2026-01-11", today) is True
    assert validators.date_plausible("2026-01-12", today) is False
    assert validators.date_plausible("1999-12-31", today) is False
    assert validators.date_plausible("2024-02-30", today) is False


def test_invoice_code_and_number_formats_follow_the_invoice_type():
    assert validators.invoice_code_valid("5100191160", VAT_SPECIAL) is True
    assert validators.invoice_code_valid("033002000211", VAT_SPECIAL) is False
    assert validators.invoice_code_valid("033002000211", VAT_ELECTRONIC) is True
    assert validators.invoice_code_valid("144001900111", MOTOR_VEHICLE) is True
    assert validators.invoice_code_valid(None, FULLY_DIGITAL) is True
    assert validators.invoice_number_valid("24322000000489101796", FULLY_DIGITAL) is True
    assert validators.invoice_number_valid("83089647", FULLY_DIGITAL) is False
    assert validators.invoice_number_valid("83089647", VAT_ELECTRONIC) is True


def test_field_checks_name_each_failed_check_and_skip_missing_values():
    # given values with a bad VIN and amounts that do not add up
    values = {
        "invoice_code": "144001900111",
        "invoice_number": "12345678",
        "issue_date": "2024-05-01",
        "vin": "1M8GDM9A1KP042788",
        "price_excl_tax": "100.00",
        "tax_amount": "13.00",
        "total_amount": "113.01",
    }

    checks = validators.field_checks(values, MOTOR_VEHICLE, "壹佰壹拾叁圆零壹分")

    assert checks == {
        "invoice_number_format": True,
        "invoice_code_format": True,
        "issue_date_plausible": True,
        "vin_check_digit": False,
        "amounts_add_up": False,
        "amount_in_words_matches": True,
    }
