"""Checks on invoice fields. A check says whether a value is consistent; it never fixes it."""

import datetime
import re
from decimal import Decimal, InvalidOperation

from dealers.credit_code import credit_code_problem

from .fields import FULLY_DIGITAL, MOTOR_VEHICLE, VAT_ELECTRONIC, VAT_NORMAL, VAT_SPECIAL

# ISO 3779: letters I, O and Q never appear in a VIN.
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_VIN_VALUES = {
    **{str(digit): digit for digit in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_PATTERN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def vin_check_character(vin: str) -> str:
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_valid(vin: str) -> bool:
    """ISO 3779 / GB 16735: 17 characters from the VIN alphabet, the ninth a check digit."""
    return bool(VIN_PATTERN.match(vin)) and vin_check_character(vin) == vin[8]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECKS = "10X98765432"
RESIDENT_ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


def resident_id_check_character(first17: str) -> str:
    return _ID_CHECKS[
        sum(int(char) * weight for char, weight in zip(first17, _ID_WEIGHTS, strict=True)) % 11
    ]


def resident_id_valid(value: str) -> bool:
    """GB 11643: 6-digit area, birth date, 3-digit sequence, check character."""
    if not RESIDENT_ID_PATTERN.match(value):
        return False
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not datetime.date(1900, 1, 1) <= born <= datetime.date.today():
        return False
    return resident_id_check_character(value[:17]) == value[17]


def credit_code_valid(value: str) -> bool:
    """GB 32100: the unified social credit code of an organisation."""
    return credit_code_problem(value) is None


TAX_ID_PATTERN = re.compile(r"^[0-9A-Z]{15}$|^[0-9A-Z]{20}$")


def party_id_valid(value: str) -> bool:
    """A buyer's or seller's identifier: credit code or resident ID (checked), or one of the
    older 15- or 20-character taxpayer numbers (format only: they carry no check)."""
    if len(value) == 18:
        if RESIDENT_ID_PATTERN.match(value) and resident_id_valid(value):
            return True
        return credit_code_valid(value)
    return bool(TAX_ID_PATTERN.match(value))


def amounts_add_up(price: str, tax: str, total: str) -> bool:
    try:
        return Decimal(price) + Decimal(tax) == Decimal(total)
    except (InvalidOperation, TypeError):
        return False


DIGIT_WORDS = "零壹贰叁肆伍陆柒捌玖"
_WORD_DIGITS = {char: index for index, char in enumerate(DIGIT_WORDS)}
_WORD_DIGITS.update({"〇": 0, "两": 2})
_SMALL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def amount_to_words(amount: Decimal | str) -> str:
    """The uppercase amount (大写) printed on invoices, e.g. 526.00 → 伍佰贰拾陆圆整."""
    amount = Decimal(amount).quantize(Decimal("0.01"))
    if amount < 0:
        return "负" + amount_to_words(-amount)
    yuan = int(amount)
    fen_total = int((amount - yuan) * 100)
    jiao, fen = divmod(fen_total, 10)
    words = _integer_words(yuan) + "圆" if yuan else ""
    if jiao:
        words += DIGIT_WORDS[jiao] + "角"
    elif fen and yuan:
        words += "零"
    if fen:
        words += DIGIT_WORDS[fen] + "分"
    if not fen:
        words += "整"
    return words or "零圆整"


def _integer_words(number: int) -> str:
    groups = []
    while number:
        groups.append(number % 10_000)
        number //= 10_000
    words = ""
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(words)
            continue
        if words and (pending_zero or group < 1000):
            words += "零"
        words += _group_words(group) + ("", "万", "亿", "万亿")[index]
        pending_zero = False
    return words


def _group_words(group: int) -> str:
    words = ""
    zero = False
    for unit, name in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = group // unit % 10
        if digit:
            if zero and words:
                words += "零"
            words += DIGIT_WORDS[digit] + name
            zero = False
        else:
            zero = True
    return words


# Glyphs OCR gives for the uppercase numerals, for reading OCR output only.
LOOK_ALIKE_NUMERALS = {
    "任": "仟",
    "什": "仟",
    "千": "仟",
    "式": "贰",
    "贡": "贰",
    "国": "圆",
    "园": "圆",
    "染": "柒",
    "参": "叁",
    "伯": "佰",
    "百": "佰",
    "喜": "壹",
    "壶": "壹",
    "捨": "拾",
    "搭": "拾",
    "陌": "陆",
}
WORD_LOOK_ALIKES = str.maketrans(LOOK_ALIKE_NUMERALS)


def words_to_amount(words: str, lenient: bool = False) -> Decimal | None:
    """Parse an uppercase amount (大写); None when it is not one. `lenient` first reads
    look-alike glyphs OCR gives for the numerals as those numerals."""
    if lenient:
        words = words.translate(WORD_LOOK_ALIKES)
    text = re.sub(r"[^零〇壹贰叁肆伍陆柒捌玖两拾佰仟万亿圆元园角分整正负]", "", words)
    if not text or not any(char in _WORD_DIGITS for char in text):
        return None
    negative = text.startswith("负")
    text = text.lstrip("负")
    yuan_part, separator, fraction = text.partition("圆")
    if not separator:
        yuan_part, separator, fraction = text.partition("元")
    if not separator:
        yuan_part, separator, fraction = text.partition("园")
    if not separator:
        yuan_part, fraction = "", text
    try:
        yuan = _parse_integer(yuan_part)
        cents = 0
        for unit, factor in (("角", 10), ("分", 1)):
            match = re.search(rf"([零壹贰叁肆伍陆柒捌玖])(?={unit})", fraction)
            if match:
                cents += _WORD_DIGITS[match.group(1)] * factor
            elif unit in fraction:
                return None
    except ValueError:
        return None
    leftover = re.sub(r"[零壹贰叁肆伍陆柒捌玖]角|[零壹贰叁肆伍陆柒捌玖]分|[零整正]", "", fraction)
    if leftover:
        return None
    amount = Decimal(yuan) + Decimal(cents) / 100
    return -amount if negative else amount


def _parse_integer(text: str) -> int:
    total = 0
    section = 0
    number = None
    for char in text:
        if char in _WORD_DIGITS:
            if number is not None and number != 0 and _WORD_DIGITS[char] != 0:
                raise ValueError("two digits in a row")
            number = _WORD_DIGITS[char]
        elif char in _SMALL_UNITS:
            section += (number if number is not None else 1) * _SMALL_UNITS[char]
            number = None
        elif char == "万":
            total += (section + (number or 0)) * 10_000
            section = 0
            number = None
        elif char == "亿":
            total = (total + section + (number or 0)) * 100_000_000
            section = 0
            number = None
        elif char in "整正":
            continue
        else:
            raise ValueError(char)
    return total + section + (number or 0)


def words_match_amount(words: str, total: str) -> bool:
    try:
        return words_to_amount(words, lenient=True) == Decimal(total)
    except (InvalidOperation, TypeError):
        return False


EARLIEST_DATE = datetime.date(2000, 1, 1)


def date_plausible(value: str, today: datetime.date | None = None) -> bool:
    """An ISO date no earlier than 2000 and no later than tomorrow."""
    try:
        date = datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    today = today or datetime.date.today()
    return EARLIEST_DATE <= date <= today + datetime.timedelta(days=1)


# Code and number lengths by invoice kind (paper VAT: 10-digit code; the rest 12).
CODE_LENGTHS = {
    MOTOR_VEHICLE: (12,),
    VAT_SPECIAL: (10,),
    VAT_NORMAL: (10, 12),
    VAT_ELECTRONIC: (12,),
    FULLY_DIGITAL: (),
}
NUMBER_LENGTHS = {FULLY_DIGITAL: (20,)}


def invoice_code_valid(code: str | None, invoice_type: str) -> bool:
    lengths = CODE_LENGTHS.get(invoice_type, (10, 12))
    if not lengths:
        return code is None
    return code is not None and code.isdigit() and len(code) in lengths


def invoice_number_valid(number: str | None, invoice_type: str) -> bool:
    lengths = NUMBER_LENGTHS.get(invoice_type, (8,))
    return number is not None and number.isdigit() and len(number) in lengths


def field_checks(values: dict[str, str | None], invoice_type: str, words: str | None) -> dict:
    """Every check that applies to what was read, by name; a missing value is not checked."""
    checks = {}
    if values.get("invoice_number"):
        checks["invoice_number_format"] = invoice_number_valid(
            values["invoice_number"], invoice_type
        )
    if values.get("invoice_code") or (values.get("invoice_number") and invoice_type != "unknown"):
        checks["invoice_code_format"] = invoice_code_valid(values.get("invoice_code"), invoice_type)
    if values.get("issue_date"):
        checks["issue_date_plausible"] = date_plausible(values["issue_date"])
    for party in ("buyer_id", "seller_id"):
        if values.get(party):
            checks[f"{party}_valid"] = party_id_valid(values[party])
    if values.get("vin"):
        checks["vin_check_digit"] = vin_valid(values["vin"])
    price, tax, total = (values.get(n) for n in ("price_excl_tax", "tax_amount", "total_amount"))
    if price and tax and total:
        checks["amounts_add_up"] = amounts_add_up(price, tax, total)
    if words and total:
        checks["amount_in_words_matches"] = words_match_amount(words, total)
    return checks


# Which fields a failed check makes unreliable.
CHECK_FIELDS = {
    "invoice_number_format": ("invoice_number",),
    "invoice_code_format": ("invoice_code",),
    "issue_date_plausible": ("issue_date",),
    "buyer_id_valid": ("buyer_id",),
    "seller_id_valid": ("seller_id",),
    "vin_check_digit": ("vin",),
    "amounts_add_up": ("price_excl_tax", "tax_amount", "total_amount"),
    "amount_in_words_matches": ("total_amount",),
}
