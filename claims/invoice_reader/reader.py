"""`read_invoice`: one document in, one reading out, whatever the document is.

OFD → its XML or text; PDF with a plausible text layer → the text; anything else → images,
prepared and read by Tesseract, with RapidOCR re-reading the bands of the page where a field
is missing, fails a check or was only found by its shape. When a key field is still missing,
RapidOCR's detector finds the lines Tesseract missed or read unsurely and only those are
read again. Each field keeps the candidate that passes its checks, then the more confident
one. Nothing raises: a file that cannot be read is an "unreadable" reading with an error code.
"""

import logging
import re
import time
from decimal import Decimal

from PIL import Image

from ssa_ops.ofd import OfdError

from . import image as image_prep
from . import ocr, validators
from .extract import LABELS, Extraction, Page, Token, build_lines, extract
from .fields import FIELD_NAMES, READ, UNKNOWN, UNREADABLE, FieldReading, InvoiceReading
from .ofd import read_ofd
from .text_layer import PdfUnreadable, plausible, render_pages, text_pages

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 40 * 1024 * 1024
# Below this a field read by OCR is re-read by the second engine.
CONFIDENT = 80
# A value found only by its shape (no label) is never more certain than this from OCR.
SHAPE_CONFIDENCE = 60
# A page where Tesseract, upright, finds fewer characters than this holds no invoice.
NEARLY_BLANK_CHARACTERS = 40
# With fewer fields than this from Tesseract, the second engine reads the whole page.
WHOLE_PAGE_BELOW = 4

TEXT_ENGINES = ("ofd-xml", "ofd-text", "pdf-text")


def read_invoice(data: bytes, filename: str = "") -> InvoiceReading:
    """Read one invoice document (OFD, PDF or image bytes). Never raises."""
    started = time.perf_counter()
    try:
        reading = _read(data, filename)
    except (OfdError, PdfUnreadable, image_prep.ImageUnreadable) as error:
        reading = InvoiceReading(status=UNREADABLE, error=getattr(error, "code", "corrupt"))
    except MemoryError:
        reading = InvoiceReading(status=UNREADABLE, error="too_large")
    except Exception:  # noqa: BLE001 - a document must end as a reading, never a crash loop
        logger.exception("invoice %r could not be read", filename)
        reading = InvoiceReading(status=UNREADABLE, error="internal")
    reading.seconds = time.perf_counter() - started
    return reading


def _kind(data: bytes, filename: str) -> str:
    head = data[:1024].lstrip()
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".ofd"):
        return "ofd"
    if head.startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return "pdf"
    return "image"


def _read(data: bytes, filename: str) -> InvoiceReading:
    if not data:
        return InvoiceReading(status=UNREADABLE, error="empty")
    if len(data) > MAX_FILE_BYTES:
        return InvoiceReading(status=UNREADABLE, error="too_large")
    kind = _kind(data, filename)
    if kind == "ofd":
        extraction, engine = read_ofd(data)
        return _finish(extraction, engine, pages=1)
    if kind == "pdf":
        pages = text_pages(data)
        if plausible(pages):
            extraction = extract(pages, "pdf-text")
            reading = _finish(extraction, "pdf-text", pages=len(pages))
            if _text_layer_trustworthy(reading):
                return reading
        images = render_pages(data)
        return _read_images(images[:2], engine_prefix="pdf-render+")
    return _read_images([image_prep.load_image(data)])


def _text_layer_trustworthy(reading: InvoiceReading) -> bool:
    """A text layer whose number is missing or whose amounts do not check is re-read by OCR:
    its font may map glyphs to the wrong characters."""
    if not reading.value("invoice_number"):
        return False
    return all(
        reading.checks.get(name, True)
        for name in ("invoice_number_format", "amounts_add_up", "amount_in_words_matches")
    )


def _finish(extraction: Extraction, engine: str, pages: int) -> InvoiceReading:
    reading = InvoiceReading(
        status=READ,
        type=extraction.type,
        engine=engine,
        pages=pages,
        fields={name: extraction.fields[name] for name in FIELD_NAMES if name in extraction.fields},
        amount_in_words=extraction.amount_in_words,
        amount_in_words_box=extraction.amount_in_words_box,
    )
    _apply_checks(reading)
    if extraction.disagreements:
        reading.checks["document_consistent"] = False
    if engine in TEXT_ENGINES:
        for field in reading.fields.values():
            if field.valid is not False:
                field.confidence = max(field.confidence, 99 if engine == "pdf-text" else 100)
    if not reading.fields:
        reading.status = UNREADABLE
        reading.error = "no_invoice_found"
    return reading


def _parties_consistent(reading: InvoiceReading) -> None:
    """One identifier read as both parties' is the seller's: every seller has one, a private
    buyer does not. A buyer identifier printed below the seller's name is the seller's."""
    buyer_id, seller_id = reading.fields.get("buyer_id"), reading.fields.get("seller_id")
    seller_name = reading.fields.get("seller_name")
    buyer_name = reading.fields.get("buyer_name")
    if buyer_id is None:
        return
    if seller_id is not None and buyer_id.value == seller_id.value:
        del reading.fields["buyer_id"]
        return
    if buyer_id.box and seller_name and seller_name.box and buyer_name and buyer_name.box:
        stacked = seller_name.box[1] - buyer_name.box[1] > 0.05
        if stacked and buyer_id.box[1] > seller_name.box[1] - 0.01:
            moved = reading.fields.pop("buyer_id")
            reading.fields.setdefault("seller_id", moved)


def _apply_checks(reading: InvoiceReading) -> None:
    _parties_consistent(reading)
    values = {name: reading.value(name) for name in FIELD_NAMES}
    reading.checks = validators.field_checks(values, reading.type, reading.amount_in_words)
    for field in reading.fields.values():
        field.valid = None
    for check, passed in reading.checks.items():
        for name in validators.CHECK_FIELDS.get(check, ()):
            field = reading.fields.get(name)
            if field is None:
                continue
            if not passed:
                field.valid = False
                field.confidence = min(field.confidence, 50)
            elif field.valid is None:
                field.valid = True


# OCR.


def _ocr_extraction(page: Page, engine: str) -> Extraction:
    extraction = extract([page], engine)
    for field in extraction.fields.values():
        if ":shape" in field.source:
            field.confidence = min(field.confidence, SHAPE_CONFIDENCE)
    return extraction


def _weak_fields(reading: InvoiceReading) -> list[str]:
    weak = []
    for name in FIELD_NAMES:
        field = reading.fields.get(name)
        if field is None:
            if name in ("vin", "vehicle_model") and reading.type != "motor_vehicle":
                continue
            if name == "invoice_code" and reading.type == "fully_digital":
                continue
            weak.append(name)
        elif (
            field.valid is False
            or ":shape" in field.source
            or field.confidence < (50 if field.valid else CONFIDENT)
        ):
            weak.append(name)
    return weak


# Labels whose line holds a field, to find the band to re-read when the field is missing.
FIELD_LABELS = {
    "invoice_code": LABELS["invoice_code"],
    "invoice_number": LABELS["invoice_number"],
    "issue_date": LABELS["issue_date"],
    "vin": LABELS["vin"],
    "vehicle_model": LABELS["vehicle_model"],
    "buyer_name": r"名\s*称|购买方名称",
    "seller_name": r"名\s*称|销货单位名称",
    "buyer_id": LABELS["party_id"],
    "seller_id": LABELS["party_id"],
    "price_excl_tax": r"^合\s*计|不含税价",
    "tax_amount": r"^合\s*计|增值税税额",
    "total_amount": r"价税合计|小写",
    "amount_in_words": r"价税合计",
}


NAME_FIELDS = ("buyer_name", "seller_name", "vehicle_model")
# Fields of the parties' blocks, where the seller's seal is stamped: RapidOCR reads their
# crops box by box.
PARTY_FIELDS = (*NAME_FIELDS, "buyer_id", "seller_id")
# Confidence from which a value whose check passes is not re-read by the second engine.
SURE_ENOUGH = {
    "buyer_id": 80,
    "seller_id": 80,
    "vin": 80,
    "invoice_code": 90,
    "invoice_number": 90,
    "issue_date": 90,
}


def _next_text_left(page: Page, after: float, top: float, height: float, limit: float) -> float:
    center = top + height / 2
    starts = [
        token.x
        for token in page.tokens
        if token.x > after + 1.5 * height and abs(token.y + token.height / 2 - center) < height
    ]
    return max(after + 0.8 * height, min([limit, *starts]) - 0.5 * height)


def _crops(page: Page, reading: InvoiceReading) -> list[tuple]:
    """Boxes to re-read: every value found, widened so a digit swallowed by a neighbouring
    glyph is inside, and the label line of each field that was not found. Each is (left,
    top, right, bottom, line top, line height) in pixels and whether it holds a party's
    name or identifier."""
    boxes = []
    lines = None
    found = {name: field.box for name, field in reading.fields.items()}
    found["amount_in_words"] = reading.amount_in_words_box
    for name in (*FIELD_NAMES, "amount_in_words"):
        box = found.get(name)
        field = reading.fields.get(name)
        if field is not None and field.valid and field.confidence >= SURE_ENOUGH.get(name, 101):
            # A check digit that passes on a confident reading: re-reading adds nothing.
            continue
        if box is not None:
            left, top, width, height = (
                box[0] * page.width,
                box[1] * page.height,
                box[2] * page.width,
                box[3] * page.height,
            )
            right = left + width + 0.8 * height
            if name in NAME_FIELDS:
                # OCR may have ended a name early: read on up to the next text on the line.
                right = _next_text_left(page, left + width, top, height, left + width + 8 * height)
            # Amounts: room for "¥" and a digit OCR may have merged into a glyph before them.
            crop_left = left - 1.2 * height
            if name in AMOUNT_NAMES:
                crop_left = left - 2.2 * height
            elif name in NAME_FIELDS:
                # Not far left: a label's last glyph read into a name is worse than a
                # lost first character, which the whole-page read can still bring back.
                crop_left = left - 0.3 * height
            boxes.append(
                (
                    crop_left,
                    top - 0.35 * height,
                    right,
                    top + 1.35 * height,
                    top,
                    height,
                    name in PARTY_FIELDS,
                )
            )
            continue
        if name in found:
            continue
        if name != "amount_in_words" and name not in _weak_fields(reading):
            continue
        pattern = FIELD_LABELS.get(name)
        lines = lines if lines is not None else build_lines(page)
        for line in lines:
            match = re.search(pattern, line.text)
            if not match:
                continue
            spans = [span for span in line.spans if span[1] > match.start()]
            label = spans[0][2]
            following = spans[1][2] if len(spans) > 1 else None
            right = following.x + following.width if following else label.x + label.width
            right = max(right, label.x + label.width + 0.3 * page.width)
            if name in ("price_excl_tax", "tax_amount", "total_amount"):
                right = page.width
            height = label.height
            boxes.append(
                (
                    label.x - 0.3 * height,
                    label.y - 0.35 * height,
                    right,
                    label.y + 1.35 * height,
                    label.y,
                    height,
                    name in PARTY_FIELDS,
                )
            )
    clipped = [
        [max(0.0, left), max(0.0, top), min(page.width, right), min(page.height, bottom), y, h, n]
        for left, top, right, bottom, y, h, n in boxes
        if right - left > 4 and bottom - top > 4
    ]
    # Crops on one line that touch are read once, as their union.
    clipped.sort(key=lambda crop: (crop[4], crop[0]))
    merged: list[list[float]] = []
    for crop in clipped:
        for other in merged:
            same_line = abs((crop[4] + crop[5] / 2) - (other[4] + other[5] / 2)) < 0.5 * min(
                crop[5], other[5]
            )
            if same_line and crop[0] <= other[2] and other[0] <= crop[2]:
                other[0], other[1] = min(other[0], crop[0]), min(other[1], crop[1])
                other[2], other[3] = max(other[2], crop[2]), max(other[3], crop[3])
                other[6] = other[6] or crop[6]
                break
        else:
            merged.append(crop)
    return [tuple(crop) for crop in merged]


def _second_engine_page(gray: Image.Image, page: Page, crops) -> Page:
    """Tesseract's page with each crop replaced by RapidOCR's reading of it. A crop in a
    party's block is read box by box (a seal's words over it are boxes of their own); the
    others, one short value each, by the recogniser alone."""
    tokens = []
    for left, top, right, bottom, line_top, line_height, in_party_block in crops:
        crop = gray.crop((int(left), int(top), int(right) + 1, int(bottom) + 1))
        if in_party_block:
            text, score = ocr.rapidocr_band(crop, line_top - int(top), line_height)
        else:
            text, score = ocr.rapidocr_line(crop)
        if text:
            # The token keeps the line's own height, so it joins that line and no other.
            tokens.append(Token(text, left, line_top, right - left, line_height, score))

    def outside(token: Token) -> bool:
        area = max(token.width * token.height, 1e-6)
        for left, top, right, bottom, _y, _h, _name in crops:
            width = min(right, token.x + token.width) - max(left, token.x)
            height = min(bottom, token.y + token.height) - max(top, token.y)
            if width > 0 and height > 0 and width * height > 0.3 * area:
                return False
        return True

    kept = [token for token in page.tokens if outside(token)]
    return Page(page.width, page.height, kept + tokens)


# A line RapidOCR detects is Tesseract's when Tesseract's words of at least this confidence
# cover this share of its width.
READ_CONFIDENCE = 60
READ_SHARE = 0.6


def _read_by(box: tuple[float, float, float, float], tokens: list[Token]) -> bool:
    left, top, width, height = box
    covered = 0.0
    for token in tokens:
        if token.confidence < READ_CONFIDENCE:
            continue
        overlap_y = min(top + height, token.y + token.height) - max(top, token.y)
        if overlap_y < 0.5 * min(height, token.height):
            continue
        covered += max(0.0, min(left + width, token.x + token.width) - max(left, token.x))
    return covered >= READ_SHARE * width


def _label_tokens(page: Page, names) -> list[Token]:
    """Tesseract's tokens holding the label of each named field."""
    tokens = []
    for line in build_lines(page):
        for name in names:
            pattern = FIELD_LABELS.get(name)
            for match in re.finditer(pattern, line.text) if pattern else ():
                tokens += [t for s, e, t in line.spans if s < match.end() and e > match.start()]
    return tokens


def _gap_page(gray: Image.Image, page: Page, missing=()) -> Page:
    """Tesseract's page with the lines it missed or read unsurely (RapidOCR's detector finds
    them on a reduced copy), and the lines holding the label of a field still missing, read
    by RapidOCR: most of a whole-page second read, at the cost of the lines that need it."""
    labels = _label_tokens(page, missing)

    def holds_label(box) -> bool:
        left, top, width, height = box
        return any(
            min(left + width, t.x + t.width) > max(left, t.x)
            and min(top + height, t.y + t.height) - max(top, t.y) > 0.5 * min(height, t.height)
            for t in labels
        )

    gaps = [
        box
        for box in ocr.rapidocr_boxes(gray)
        if not _read_by(box, page.tokens) or holds_label(box)
    ]
    crops = [
        (
            int(max(0, left)),
            int(max(0, top)),
            int(min(page.width, left + width + 1)),
            int(min(page.height, top + height + 1)),
        )
        for left, top, width, height in gaps
    ]
    kept_crops = [
        (box, crop)
        for box, crop in zip(gaps, crops, strict=True)
        if crop[2] - crop[0] > 4 and crop[3] - crop[1] > 4
    ]
    results = ocr.rapidocr_lines(gray, [crop for _box, crop in kept_crops])
    tokens = [
        Token(text, *box, score)
        for (box, _crop), (text, score) in zip(kept_crops, results, strict=True)
        if text
    ]

    def outside(token: Token) -> bool:
        area = max(token.width * token.height, 1e-6)
        for left, top, width, height in gaps:
            overlap_x = min(left + width, token.x + token.width) - max(left, token.x)
            overlap_y = min(top + height, token.y + token.height) - max(top, token.y)
            if overlap_x > 0 and overlap_y > 0 and overlap_x * overlap_y > 0.3 * area:
                return False
        return True

    return Page(page.width, page.height, [t for t in page.tokens if outside(t)] + tokens)


def _take_kind(reading: InvoiceReading, whole: InvoiceReading) -> None:
    """The kind of invoice as read on a whole page (Tesseract's sure lines and RapidOCR's
    reading of the rest): its title and codes say the kind better than Tesseract's alone,
    and each value is then checked against it before the two readings are compared."""
    if whole.type != UNKNOWN and whole.type != reading.type:
        reading.type = whole.type
        _apply_checks(reading)


def _choose(first: InvoiceReading, second: InvoiceReading) -> tuple[InvoiceReading, set[str]]:
    """Per field, the candidate that passes its checks, then the more confident one; the
    three amounts together, as the combination that adds up (and agrees with the words)."""
    chosen = set()
    original = dict(first.fields)

    def original_value(name):
        field = original.get(name)
        return field.value if field is not None else None

    for name in FIELD_NAMES:
        a, b = first.fields.get(name), second.fields.get(name)
        if b is None:
            continue
        if a is None:
            first.fields[name] = b
            chosen.add(name)
            continue
        if a.value == b.value:
            a.confidence = max(a.confidence, b.confidence, min(99, a.confidence + 20))
            continue
        other = OTHER_PARTY.get(name)
        if other and second.value(other) == a.value and original_value(other) in (None, a.value):
            # The other engine read this value as the other party's, and read this party
            # apart: one engine missed a party's line and gave its neighbour's value to it.
            first.fields[name] = b
            chosen.add(name)
            continue
        if name in AMOUNT_NAMES:
            # Amounts are checked together (price + tax = total): one failing sum says
            # nothing about which of them is wrong, so confidence decides here.
            score_a, score_b = a.confidence, b.confidence
        else:
            score_a = (a.valid is not False, a.confidence)
            score_b = (b.valid is not False, b.confidence)
        if score_b > score_a:
            first.fields[name] = b
            chosen.add(name)
    _choose_amounts(first, [original, second.fields], [first, second], chosen)
    total = first.value("total_amount")

    def words_score(words):
        if not words:
            return 0
        if total and validators.words_match_amount(words, total):
            return 2
        return 1 if validators.words_to_amount(words) is not None else 0

    if words_score(second.amount_in_words) > words_score(first.amount_in_words):
        first.amount_in_words = second.amount_in_words
    if first.type == "unknown":
        first.type = second.type
    return first, chosen


AMOUNT_NAMES = ("price_excl_tax", "tax_amount", "total_amount")
OTHER_PARTY = {
    "buyer_name": "seller_name",
    "seller_name": "buyer_name",
    "buyer_id": "seller_id",
    "seller_id": "buyer_id",
}


def _choose_amounts(target: InvoiceReading, sources, readings, chosen: set) -> None:
    """Among the amounts either engine read, the price, tax and total that add up, the
    total agreeing with the uppercase amount when one was read. Only values read are
    combined: none is made up or altered."""
    candidates = {name: [] for name in AMOUNT_NAMES}
    for fields in sources:
        for name in AMOUNT_NAMES:
            field = fields.get(name)
            if field is not None and field.value not in [c.value for c in candidates[name]]:
                candidates[name].append(field)
    in_words = {
        validators.words_to_amount(reading.amount_in_words, lenient=True)
        for reading in readings
        if reading.amount_in_words
    } - {None}
    # The total is printed twice; its uppercase form is a reading of it too.
    for amount in sorted(in_words):
        if f"{amount:.2f}" not in [c.value for c in candidates["total_amount"]]:
            box = next((r.amount_in_words_box for r in readings if r.amount_in_words_box), None)
            candidates["total_amount"].append(
                FieldReading(value=f"{amount:.2f}", confidence=60, source="ocr:words", box=box)
            )
    best, best_score = None, None
    for price in candidates["price_excl_tax"]:
        for tax in candidates["tax_amount"]:
            for total in candidates["total_amount"]:
                if not validators.amounts_add_up(price.value, tax.value, total.value):
                    continue
                score = (
                    Decimal(total.value) in in_words,
                    price.confidence + tax.confidence + total.confidence,
                )
                if best_score is None or score > best_score:
                    best, best_score = (price, tax, total), score
    if best is None:
        return
    for name, field in zip(AMOUNT_NAMES, best, strict=True):
        if target.fields.get(name) is not field:
            target.fields[name] = field
            chosen.add(name)


def _read_images(images: list[Image.Image], engine_prefix: str = "") -> InvoiceReading:
    best: InvoiceReading | None = None
    for image in images:
        gray, _colour = image_prep.prepare(image)
        reading = _read_page_image(gray)
        if best is None or len(reading.fields) > len(best.fields):
            best = reading
        if len(best.fields) >= 8:
            break
    best.engine = engine_prefix + best.engine
    best.pages = len(images)
    if not best.fields:
        best.status = UNREADABLE
        best.error = "no_invoice_found"
    return best


def read_image_with(data: bytes, engine: str) -> InvoiceReading:
    """For the bench: an image read by one engine alone, "tesseract" or "rapidocr" (whole
    page), with the same preparation and extraction as `read_invoice`."""
    started = time.perf_counter()
    gray, _colour = image_prep.prepare(image_prep.load_image(data))
    if engine == ocr.RAPIDOCR:
        page = ocr.rapidocr_page(gray.convert("RGB"))
        reading = _finish(_ocr_extraction(page, "ocr:rapidocr"), ocr.RAPIDOCR, pages=1)
    else:
        reading = _read_page_image(gray, second_engine=False)
    reading.seconds = time.perf_counter() - started
    return reading


def _read_page_image(gray: Image.Image, second_engine: bool = True) -> InvoiceReading:
    page = ocr.tesseract_page(gray)
    reading = _finish(_ocr_extraction(page, "ocr:tesseract"), ocr.TESSERACT, pages=1)
    if len(reading.fields) <= 2:
        # Perhaps upside down or sideways: ask Tesseract's orientation detector once.
        turned = _turn_upright(gray)
        if turned is not None:
            gray = turned
            page = ocr.tesseract_page(gray)
            reading = _finish(_ocr_extraction(page, "ocr:tesseract"), ocr.TESSERACT, pages=1)
    # The page as read (upright, flat): the fields' boxes are fractions of it.
    reading.page_image = gray
    if not second_engine or not ocr.rapidocr_available():
        return reading
    if not reading.fields and sum(len(t.text) for t in page.tokens) < NEARLY_BLANK_CHARACTERS:
        return reading  # next to no text at all: not an invoice, not worth the second engine
    whole_page = len(reading.fields) < WHOLE_PAGE_BELOW
    if whole_page:
        second_page = _gap_page(gray, page)
    else:
        second_page = _second_engine_page(gray, page, _crops(page, reading))
    second = _finish(_ocr_extraction(second_page, "ocr:rapidocr"), ocr.RAPIDOCR, pages=1)
    if whole_page:
        _take_kind(reading, second)
    reading, chosen = _choose(reading, second)
    _apply_checks(reading)
    if len(reading.fields) >= WHOLE_PAGE_BELOW and _still_missing(reading):
        # Tesseract missed the line itself: let RapidOCR find it, and read what was missed.
        missing = [name for name in KEY_FIELDS if name not in reading.fields]
        gaps = _gap_page(gray, page, missing)
        third = _finish(_ocr_extraction(gaps, "ocr:rapidocr"), ocr.RAPIDOCR, pages=1)
        _take_kind(reading, third)
        reading, more = _choose(reading, third)
        chosen |= more
        _apply_checks(reading)
    if chosen:
        reading.engine = f"{ocr.TESSERACT}+{ocr.RAPIDOCR}"
    reading.page_image = gray
    return reading


# Fields a claim is checked on: missing (or failing their check) after the crops, they are
# worth a whole-page read by the second engine. Identifiers are not: that read costs about
# three Tesseract pages and they fail mostly by a character, which the crops already retried.
KEY_FIELDS = ("invoice_number", "issue_date", "total_amount", "vin", "buyer_name", "seller_name")


def _still_missing(reading: InvoiceReading) -> bool:
    for name in KEY_FIELDS:
        if name == "vin" and reading.type != "motor_vehicle":
            continue
        field = reading.fields.get(name)
        if field is None:
            return True
        # The total's own failure is the sum's; a garbled uppercase amount is common.
        failed = reading.checks.get("amounts_add_up") is False or field.valid is False
        if failed and (name != "total_amount" or reading.checks.get("amounts_add_up") is False):
            return True
    return False


def _turn_upright(gray: Image.Image) -> Image.Image | None:
    try:
        import pytesseract

        osd = pytesseract.image_to_osd(gray, config="--psm 0", timeout=30)
    except Exception:  # noqa: BLE001 - no orientation found is not an error
        return None
    match = re.search(r"Rotate: (\d+)", osd)
    if not match or match.group(1) == "0":
        return None
    return gray.rotate(-int(match.group(1)), expand=True, fillcolor=255)
