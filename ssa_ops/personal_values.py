"""Kinds of personal value and how each is shown: normalised one way (for hashing and
storing), masked (`110105********123X`, `138****8000`), checked (a resident ID's GB 11643 check
character). `PersonalValue` is how a personal field's value lives in Python: masked whenever it
becomes text, `reveal()` for code that must check it.
"""

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

# Kinds of value -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalKind:
    """A kind of personal value: how it is written the one way (for hashing and storing), how
    it is masked, what it must look like."""

    code: str
    label: object
    normalise: Callable[[str], str]
    mask: Callable[[str], str]
    validators: tuple = ()


_KINDS: dict[str, PersonalKind] = {}


def personal_kind_register(*kinds: PersonalKind) -> None:
    """Apps add kinds of their own (e.g. a car's VIN) at ready()."""
    for kind in kinds:
        _KINDS[kind.code] = kind


def personal_kind(code: str) -> PersonalKind:
    try:
        return _KINDS[code]
    except KeyError:
        raise ImproperlyConfigured(f"Unknown kind of personal value: {code!r}") from None


def _compact(value: str) -> str:
    return re.sub(r"[\s\-]", "", value).upper()


def _phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def _keep(value: str, head: int, tail: int) -> str:
    """Show `head` characters and `tail` characters, star the rest (all of a short value)."""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_valid(value: str) -> bool:
    """An 18-character resident ID number whose last character is its GB 11643 check."""
    if not re.fullmatch(r"\d{17}[\dX]", value or ""):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value, _ID_WEIGHTS, strict=False))
    return _ID_CHECK[total % 11] == value[17]


def validate_resident_id(value):
    if not resident_id_valid(_compact(str(value))):
        raise ValidationError(
            _("Enter a valid resident ID number (18 characters)."), code="invalid_id_number"
        )


def _mask_phone(value: str) -> str:
    if len(value) == 11 and value.startswith("1"):
        return _keep(value, 3, 4)
    return _keep(value, 0, 4)


personal_kind_register(
    PersonalKind(
        "id_number",
        _("Resident ID number"),
        _compact,
        lambda v: _keep(v, 6, 4),
        (validate_resident_id,),
    ),
    PersonalKind("phone", _("Phone number"), _phone, _mask_phone),
    PersonalKind("employee_number", _("Employee number"), _compact, lambda v: _keep(v, 2, 2)),
    PersonalKind("bank_account", _("Bank account"), _compact, lambda v: _keep(v, 4, 4)),
    PersonalKind(
        "housing_fund_account", _("Housing fund account"), _compact, lambda v: _keep(v, 2, 4)
    ),
    PersonalKind(
        "social_insurance_number",
        _("Social insurance number"),
        _compact,
        lambda v: _keep(v, 2, 4),
    ),
    PersonalKind("text", _("Personal information"), str.strip, lambda v: _keep(v, 1, 0)),
)


def mask(kind: str, value) -> str:
    """The masked form of a value: `110105********123X`, `138****8000`, `E1****67`."""
    if isinstance(value, PersonalValue):
        value = value.reveal()
    if not value:
        return ""
    personal = personal_kind(kind)
    return personal.mask(personal.normalise(str(value)))


# Remembered clear values, so the log filter can scrub them wherever they turn up --------------
# Identifiers (letters and digits, as every kind but free text normalises to) are looked up by
# token, whatever their number; other values (names) are searched for, so fewer are kept.

_IDENTIFIERS: OrderedDict[str, str] = OrderedDict()
_TEXTS: OrderedDict[str, str] = OrderedDict()
_REMEMBERED_LOCK = threading.Lock()
_IDENTIFIERS_MAX, _TEXTS_MAX = 20_000, 256
_TOKEN = re.compile(r"[0-9A-Za-z]{4,}")


def _remember(kind: str, clear: str) -> None:
    if len(clear) < 4:
        return
    identifier = clear.isascii() and clear.isalnum()
    kept, limit = (_IDENTIFIERS, _IDENTIFIERS_MAX) if identifier else (_TEXTS, _TEXTS_MAX)
    key = clear.upper() if identifier else clear
    with _REMEMBERED_LOCK:
        kept[key] = kind
        kept.move_to_end(key)
        while len(kept) > limit:
            kept.popitem(last=False)


def _remembered_mask(text: str) -> str:
    def identifier(match):
        kind = _IDENTIFIERS.get(match.group(0).upper())
        return mask(kind, match.group(0)) if kind else match.group(0)

    text = _TOKEN.sub(identifier, text)
    with _REMEMBERED_LOCK:
        texts = list(_TEXTS.items())
    for clear, kind in texts:
        if clear in text:
            text = text.replace(clear, mask(kind, clear))
    return text


class PersonalValue:
    """A clear personal value that shows itself masked: `str()`, `repr()` and formatting give
    the masked form; `reveal()` the value."""

    __slots__ = ("kind", "_clear")

    def __init__(self, kind: str, clear: str):
        self.kind = kind
        self._clear = clear
        _remember(kind, clear)

    def reveal(self) -> str:
        return self._clear

    @property
    def masked(self) -> str:
        return mask(self.kind, self._clear)

    def __str__(self):
        return self.masked

    def __repr__(self):
        return f"<PersonalValue {self.kind} {self.masked}>"

    def __format__(self, spec):
        return format(self.masked, spec)

    def __eq__(self, other):
        if isinstance(other, PersonalValue):
            return self._clear == other._clear
        if isinstance(other, str):
            return self._clear == other
        return NotImplemented

    def __hash__(self):
        return hash(self._clear)

    def __bool__(self):
        return bool(self._clear)

    def __len__(self):
        return len(self._clear)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


# 18 characters, not inside a longer run of letters or digits; the check decides.
_RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# A mainland mobile number, optionally with +86 / 86 and separators.
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9])")


def personal_text_scrub(text: str) -> str:
    """`text` with every personal value it holds masked."""
    if not text:
        return text
    text = _remembered_mask(text)

    def resident_id(match):
        value = match.group(0).upper()
        return mask("id_number", value) if resident_id_valid(value) else match.group(0)

    text = _RESIDENT_ID.sub(resident_id, text)
    return _MOBILE.sub(lambda match: mask("phone", match.group(0)), text)
