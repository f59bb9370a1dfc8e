"""Identifiers checked in the kit: resident ID numbers (GB 11643) and credit codes (GB 32100)."""

import pytest
from django.core.exceptions import ValidationError

from ssa_ops.validation import resident_id_check_character, resident_id_clean
from tests.programs.factories import credit_code


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "440524188001010014"],
)
def test_valid_resident_id_numbers_pass(number):
    # the standard's examples
    assert resident_id_clean(number.lower()) == number.upper()


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("11010519491231002Y", "id_number_format"),
        ("1101051949123100", "id_number_format"),
        ("110105194913310021", "id_number_date"),
        ("110105194902300021", "id_number_date"),
        ("110105194912310021", "id_number_check"),
    ],
)
def test_invalid_resident_id_numbers_say_why(number, code):
    with pytest.raises(ValidationError) as error:
        resident_id_clean(number)
    assert error.value.code == code


def test_the_check_character_follows_iso_7064():
    assert resident_id_check_character("11010519491231002") == "X"
    assert resident_id_check_character("44052418800101001") == "4"


def test_generated_credit_codes_pass_the_check():
    from dealers.credit_code import credit_code_problem

    assert all(credit_code_problem(credit_code()) is None for _ in range(20))
