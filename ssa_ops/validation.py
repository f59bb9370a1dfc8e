"""The one check every piece of user text passes, whether it comes from a form, the API, an
Excel import or a service call: it is text, it can be stored and written out again (no NUL or
other control characters, no lone surrogates), it fits its field, and it is there if required.

Errors are ValidationErrors whose message is a lazy translation with `params`, so a form shows
them, the API answers 400 with them, and an import keeps them as stored texts.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Tab, newline and carriage return are text; every other control character is refused.
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def _problem(value: str, *, multiline: bool):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ValidationError(
            _("The text contains characters that cannot be stored (broken Unicode)."),
            code="invalid_unicode",
        )
    for char in value:
        if unicodedata.category(char) == "Cc" and (
            char not in _ALLOWED_CONTROLS or (not multiline and char != "\t")
        ):
            return ValidationError(
                _("The text contains a control character (such as NUL or a line break)."),
                code="control_character",
            )
    return None


def text_clean(value, *, max_length=None, required=False, multiline=False) -> str:
    """`value` as stored text: stripped, checked; raises ValidationError (one message)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(_("Enter text, not a number, list or object."), code="invalid_type")
    value = value.strip()
    problem = _problem(value, multiline=multiline)
    if problem is not None:
        raise problem
    if required and not value:
        raise ValidationError(_("This field is required."), code="required")
    if max_length is not None and len(value) > max_length:
        raise ValidationError(
            _("At most %(limit)s characters (this has %(length)s)."),
            code="max_length",
            params={"limit": max_length, "length": len(value)},
        )
    return value


def model_text_clean(model, field_name: str, value, *, required=None, multiline=False) -> str:
    """text_clean with the model field's own limit, and required unless the field may be blank."""
    field = model._meta.get_field(field_name)
    return text_clean(
        value,
        max_length=field.max_length,
        required=(not field.blank) if required is None else required,
        multiline=multiline,
    )


def choice_clean(value, choices, *, required=True) -> str:
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or value not in {str(choice) for choice in choices}:
        raise ValidationError(
            _("Choose one of: %(choices)s."),
            code="invalid_choice",
            params={"choices": ", ".join(str(choice) for choice in choices)},
        )
    return value


def bool_clean(value) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationError(_("Enter true or false."), code="invalid_type")
    return value


# Resident identity card number (GB 11643-1999): 17 digits (area, birth date YYYYMMDD,
# sequence) and a check character computed with ISO 7064 MOD 11-2.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_check_character(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def resident_id_clean(value) -> str:
    """An 18-character resident ID number with a valid birth date and check character,
    upper-cased (the check character may be X)."""
    import datetime

    number = text_clean(value, max_length=18, required=True).upper()
    if (
        len(number) != 18
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        raise ValidationError(
            _("A resident ID number has 17 digits and a check character (a digit or X)."),
            code="id_number_format",
        )
    try:
        datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date inside this ID number is not a real date."), code="id_number_date"
        ) from None
    if resident_id_check_character(number[:17]) != number[17]:
        raise ValidationError(
            _("The check character of this ID number is wrong."), code="id_number_check"
        )
    return number


# Vehicle identification number (ISO 3779; GB 16735 in China): 17 characters of the
# alphabet without I, O and Q, the 9th a check digit (weighted sum mod 11, 10 written X).
_VIN_VALUES = dict(zip("0123456789", range(10), strict=True)) | dict(
    zip(
        "ABCDEFGHJKLMNPRSTUVWXYZ",
        (1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9),
        strict=True,
    )
)
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) of a 17-character VIN of the ISO 3779 alphabet."""
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def vin_clean(value) -> str:
    """A 17-character VIN, upper-cased, of the ISO 3779 alphabet (no I, O or Q) with a valid
    check digit at position 9."""
    vin = text_clean(value, max_length=17, required=True).upper()
    if len(vin) != 17:
        raise ValidationError(
            _("A VIN has 17 characters (this has %(length)s)."),
            code="vin_length",
            params={"length": len(vin)},
        )
    if any(char not in _VIN_VALUES for char in vin):
        raise ValidationError(
            _("A VIN holds only digits and the letters A to Z without I, O and Q."),
            code="vin_characters",
        )
    if vin_check_digit(vin) != vin[8]:
        raise ValidationError(
            _("The check digit of this VIN (its 9th character) is wrong."), code="vin_check"
        )
    return vin


def query_text(request, name: str, max_length=100) -> str:
    """A page's list filter typed into the address bar: text a column can hold, or nothing
    (a filter with NUL or other control characters is ignored, never sent to the database).
    `request` may also be the parameters themselves (a QueryDict)."""
    params = getattr(request, "GET", request)
    text = params.get(name, "").strip()[:max_length]
    return "" if any(ord(character) < 32 for character in text) else text
