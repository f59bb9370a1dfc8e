"""Comparing what the invoice says with what the claim says, field by field.

match: the same value, read without a failed check. probable: a small OCR-like difference
(one or two characters, look-alike glyphs) on a value read with low confidence or a failed
check, or the same value with a failed check. mismatch: anything else. not_found: the
invoice value could not be read. Overall: mismatch if any field mismatches, pass if every
compared field matches, needs_review otherwise. OCR never rejects a claim: ops decide.

A value that differs from the claim is never a match: one VIN character or one cent of the
total changed is at best "probable".
"""

import datetime
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .fields import FIELD_NAMES, InvoiceReading

MATCH = "match"
PROBABLE = "probable"
MISMATCH = "mismatch"
NOT_FOUND = "not_found"

PASS = "pass"
NEEDS_REVIEW = "needs_review"

# Below this confidence a small difference may be the reader's and not the invoice's.
SURE = 90
AMOUNT_FIELDS = ("price_excl_tax", "tax_amount", "total_amount")
NAME_FIELDS = ("buyer_name", "seller_name", "vehicle_model")
# Glyphs OCR confuses with each other.
LOOK_ALIKES = {
    frozenset(pair)
    for pair in ("0O", "0D", "0Q", "1I", "1L", "1T", "2Z", "5S", "6G", "8B", "B3", "UV", "7T")
}


@dataclass
class FieldComparison:
    """One field: the claim's value, the invoice's, and how they compare."""

    name: str
    claim_value: str | None
    invoice_value: str | None
    result: str
    confidence: int = 0
    # A code saying why, rendered in the reader's language where it is shown.
    reason: str = ""


@dataclass
class InvoiceComparison:
    """The whole invoice against the claim."""

    result: str
    fields: dict[str, FieldComparison] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "result": self.result,
            "fields": {
                name: {
                    "claim": item.claim_value,
                    "invoice": item.invoice_value,
                    "result": item.result,
                    "confidence": item.confidence,
                    "reason": item.reason,
                }
                for name, item in self.fields.items()
            },
        }


def normalize_value(name: str, value) -> str | None:
    """The comparable form of a claim or invoice value."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    if name in AMOUNT_FIELDS:
        try:
            return f"{Decimal(text.replace(',', '').lstrip('¥')):.2f}"
        except InvalidOperation:
            return text
    if name == "issue_date":
        try:
            return datetime.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            return text
    text = "".join(text.split())
    if name in NAME_FIELDS:
        return text
    return text.upper()


def _distance(first: str, second: str) -> tuple[int, bool]:
    """Edit distance, and whether every substitution is between look-alike glyphs."""
    previous = list(range(len(second) + 1))
    alike = True
    for index, char in enumerate(first, start=1):
        current = [index]
        for other_index, other in enumerate(second, start=1):
            cost = 0 if char == other else 1
            current.append(
                min(previous[other_index] + 1, current[-1] + 1, previous[other_index - 1] + cost)
            )
        previous = current
    if len(first) == len(second):
        alike = all(
            a == b or frozenset((a, b)) in LOOK_ALIKES for a, b in zip(first, second, strict=True)
        )
    else:
        alike = False
    return previous[-1], alike


def _ocr_like(name: str, claim: str, invoice: str) -> bool:
    distance, alike = _distance(claim, invoice)
    if name in NAME_FIELDS:
        return distance <= (2 if len(claim) >= 6 else 1)
    if name in AMOUNT_FIELDS or name == "issue_date":
        return distance <= 1
    return distance <= 1 or (alike and distance <= 2)


def field_compare(name: str, claim_value, reading: InvoiceReading) -> FieldComparison:
    claim = normalize_value(name, claim_value)
    read = reading.fields.get(name)
    invoice = normalize_value(name, read.value) if read is not None else None
    confidence = read.confidence if read is not None else 0
    if invoice is None:
        return FieldComparison(name, claim, None, NOT_FOUND, 0, "not_read")
    if claim == invoice:
        if read.valid is False:
            return FieldComparison(name, claim, invoice, PROBABLE, confidence, "check_failed")
        return FieldComparison(name, claim, invoice, MATCH, confidence, "")
    uncertain = read.valid is False or confidence < SURE
    if uncertain and _ocr_like(name, claim, invoice):
        reason = "check_failed" if read.valid is False else "low_confidence"
        return FieldComparison(name, claim, invoice, PROBABLE, confidence, reason)
    return FieldComparison(name, claim, invoice, MISMATCH, confidence, "different")


def invoice_compare(reading: InvoiceReading, claim_values: dict) -> InvoiceComparison:
    """Compare every field the claim gives (a None claim value is not compared)."""
    fields = {}
    for name in FIELD_NAMES:
        if claim_values.get(name) in (None, ""):
            continue
        fields[name] = field_compare(name, claim_values[name], reading)
    results = {item.result for item in fields.values()}
    if MISMATCH in results:
        overall = MISMATCH
    elif fields and results == {MATCH}:
        overall = PASS
    else:
        overall = NEEDS_REVIEW
    return InvoiceComparison(result=overall, fields=fields)
