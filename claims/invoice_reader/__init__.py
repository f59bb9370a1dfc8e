"""The invoice reader: extract, validate and compare the fields of a dealer's invoice.

Pure Python (no models): `read_invoice(data, filename)` returns an `InvoiceReading`;
`compare.invoice_compare(reading, claim_values)` says, field by field, how it matches.
"""

from .fields import FIELD_NAMES, FieldReading, InvoiceReading
from .reader import read_invoice

__all__ = ["FIELD_NAMES", "FieldReading", "InvoiceReading", "read_invoice"]
