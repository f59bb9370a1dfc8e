"""What the invoice reader returns: one reading per document, one value per field."""

from dataclasses import asdict, dataclass, field

FIELD_NAMES = (
    "invoice_code",
    "invoice_number",
    "issue_date",
    "buyer_name",
    "buyer_id",
    "seller_name",
    "seller_id",
    "vin",
    "vehicle_model",
    "price_excl_tax",
    "tax_amount",
    "total_amount",
)

# Invoice kinds, stored as codes.
MOTOR_VEHICLE = "motor_vehicle"  # 机动车销售统一发票
VAT_SPECIAL = "vat_special"  # 增值税专用发票 (paper)
VAT_NORMAL = "vat_normal"  # 增值税普通发票 (paper)
VAT_ELECTRONIC = "vat_electronic"  # 增值税电子普通/专用发票 (code and number)
FULLY_DIGITAL = "fully_digital"  # 数电/全电发票 (20-digit number, no code)
UNKNOWN = "unknown"
INVOICE_TYPES = (MOTOR_VEHICLE, VAT_SPECIAL, VAT_NORMAL, VAT_ELECTRONIC, FULLY_DIGITAL, UNKNOWN)

# Reading outcomes.
READ = "read"
UNREADABLE = "unreadable"


@dataclass
class FieldReading:
    """One extracted field: the value as printed, how sure the reader is, and where it was."""

    value: str | None = None
    confidence: int = 0
    source: str = ""  # "xml", "text", "ocr:tesseract", "ocr:rapidocr", "shape:..."
    page: int = 0
    # Box on the page as fractions of its width and height: (left, top, width, height).
    box: tuple[float, float, float, float] | None = None
    # False when a check on this field failed: the value is then unreliable, never corrected.
    valid: bool | None = None


@dataclass
class InvoiceReading:
    """The reader's result for one document. An image read by OCR also carries, as the plain
    attribute `page_image`, the page as read (upright, flattened): its fields' boxes are
    fractions of that image."""

    status: str = READ
    error: str = ""  # a code when unreadable: "empty", "too_large", "encrypted", ...
    type: str = UNKNOWN
    engine: str = ""  # "ofd-xml", "ofd-text", "pdf-text", "tesseract", "rapidocr", "..."
    seconds: float = 0.0
    pages: int = 0
    fields: dict[str, FieldReading] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    amount_in_words: str | None = None
    amount_in_words_box: tuple[float, float, float, float] | None = None

    def value(self, name: str) -> str | None:
        reading = self.fields.get(name)
        return reading.value if reading else None

    def as_json(self, filename: str = "") -> dict:
        """The `ocr_invoice --json` shape (also what the claim document's API exposes)."""
        return {
            "file": filename,
            "status": self.status,
            "error": self.error or None,
            "engine": self.engine,
            "seconds": round(self.seconds, 3),
            "type": self.type,
            "fields": {name: self.value(name) for name in FIELD_NAMES},
            "confidence": {
                name: (self.fields[name].confidence if self.value(name) is not None else 0)
                for name in FIELD_NAMES
            },
            "checks": dict(self.checks),
        }

    def details(self) -> dict:
        """Everything, boxes and sources included, for storing with the claim document."""
        return {**asdict(self), "fields": {k: asdict(v) for k, v in self.fields.items()}}
