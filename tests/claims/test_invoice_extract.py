import json
import random
from pathlib import Path

import pytest
from django.conf import settings

from claims.invoice_reader import read_invoice
from claims.invoice_reader.extract import Page, Token, extract
from claims.invoice_reader.fields import (
    FULLY_DIGITAL,
    MOTOR_VEHICLE,
    UNREADABLE,
    VAT_ELECTRONIC,
    FieldReading,
    InvoiceReading,
)
from claims.invoice_reader.reader import _choose
from claims.invoice_reader.synthetic import KINDS, invoice_generate, invoice_render
from claims.invoice_reader.text_layer import plausible, text_pages

REAL = Path(settings.BASE_DIR) / ".." / "shared" / "invoices-real-dev"
REAL_FIELDS = {
    "invoice_code": "invoice_code",
    "invoice_number": "invoice_number",
    "issue_date": "issue_date",
    "buyer_name": "buyer_name",
    "buyer_tax_id": "buyer_id",
    "seller_name": "seller_name",
    "seller_tax_id": "seller_id",
    "amount_excl_tax": "price_excl_tax",
    "tax_amount": "tax_amount",
    "total_with_tax": "total_amount",
}


def _page(*rows) -> Page:
    """A page of tokens: each row is (y, [(x, text), ...]) in millimetres."""
    tokens = []
    for y, items in rows:
        for x, text in items:
            tokens.append(Token(text, x, y, 3.0 * len(text), 3.0))
    return Page(210.0, 140.0, tokens)


def test_extract_finds_vat_fields_by_label_and_position():
    # given an e-invoice page: labels with values beside them, buyer above seller
    page = _page(
        (6, [(60, "浙江增值税电子普通发票"), (148, "发票代码:"), (164, "033002000211")]),
        (12, [(148, "发票号码:"), (164, "83089647")]),
        (18, [(148, "开票日期:"), (164, "2020年07月23日")]),
        (31, [(13, "名称:"), (36, "江苏京利华新材料有限公司")]),
        (36, [(13, "纳税人识别号:"), (36, "91320115MA202UKD7X")]),
        (92, [(22, "合"), (36, "计"), (150, "¥510.68"), (193, "¥15.32")]),
        (98, [(17, "价税合计(大写)"), (63, "伍佰贰拾陆圆整"), (150, "(小写)"), (170, "¥526.00")]),
        (105, [(13, "名称:"), (36, "兰溪市悦济舫餐厅")]),
        (110, [(13, "纳税人识别号:"), (36, "92330781MA2EDMFU50")]),
    )

    result = extract([page], "test")

    assert result.type == VAT_ELECTRONIC
    assert {name: field.value for name, field in result.fields.items()} == {
        "invoice_code": "033002000211",
        "invoice_number": "83089647",
        "issue_date": "2020-07-23",
        "buyer_name": "江苏京利华新材料有限公司",
        "buyer_id": "91320115MA202UKD7X",
        "seller_name": "兰溪市悦济舫餐厅",
        "seller_id": "92330781MA2EDMFU50",
        "price_excl_tax": "510.68",
        "tax_amount": "15.32",
        "total_amount": "526.00",
    }
    assert result.amount_in_words == "伍佰贰拾陆圆整"


def test_extract_falls_back_to_shapes_when_labels_are_missing():
    # given a fully digital invoice whose labels were not read
    page = _page(
        (8, [(60, "电子发票(普通发票)"), (170, "24322000000489101796")]),
        (14, [(170, "2024年12月05日")]),
        (90, [(140, "¥17699.12"), (190, "¥2300.88")]),
        (97, [(150, "¥20000.00")]),
    )

    result = extract([page], "test")

    assert result.type == FULLY_DIGITAL
    values = {name: field.value for name, field in result.fields.items()}
    assert values["invoice_number"] == "24322000000489101796"
    assert values["issue_date"] == "2024-12-05"
    assert (values["price_excl_tax"], values["tax_amount"], values["total_amount"]) == (
        "17699.12",
        "2300.88",
        "20000.00",
    )
    assert all(field.source == "test:shape" for field in result.fields.values())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variant", ["pdf_text", "ofd"])
def test_read_invoice_reads_every_field_of_generated_text_documents(kind, variant):
    # given a generated PDF with a text layer or OFD, fixed seed
    rng = random.Random(10 * KINDS.index(kind) + len(variant))
    invoice = invoice_generate(rng, kind)
    document = invoice_render(invoice, variant, rng)

    reading = read_invoice(document.data, document.filename)

    # then every field is right, found without OCR, and every check passes
    assert reading.engine in {"pdf-text", "ofd-text", "ofd-xml"}
    assert reading.type == kind
    assert {name: reading.value(name) for name in invoice.truth} == invoice.truth
    assert all(reading.checks.values())
    if kind == MOTOR_VEHICLE:
        assert reading.checks["vin_check_digit"] is True


def test_text_layer_that_reads_as_nonsense_is_not_plausible():
    # given a generated text PDF, and the same text as a font with a wrong map would give
    rng = random.Random(3)
    document = invoice_render(invoice_generate(rng, VAT_ELECTRONIC), "pdf_text", rng)
    pages = text_pages(document.data)
    garbled = [
        Page(
            page.width,
            page.height,
            [
                Token(
                    "".join(chr(0xE000 + ord(char) % 500) for char in token.text),
                    token.x,
                    token.y,
                    token.width,
                    token.height,
                )
                for token in page.tokens
            ],
        )
        for page in pages
    ]

    assert plausible(pages) is True
    assert plausible(garbled) is False


@pytest.mark.parametrize(
    ("data", "filename", "error"),
    [
        (b"", "empty.pdf", "empty"),
        (b"%PDF-1.7\n garbage", "broken.pdf", "corrupt"),
        (b"PK\x03\x04 not really a zip", "broken.ofd", "not_zip"),
        (b"\x89PNG\r\n\x1a\n broken", "broken.png", "corrupt"),
        (b"\0" * (41 * 1024 * 1024), "giant.jpg", "too_large"),
    ],
)
def test_read_invoice_turns_bad_files_into_unreadable_readings(data, filename, error):
    reading = read_invoice(data, filename)

    assert reading.status == UNREADABLE
    assert reading.error == error
    assert reading.fields == {}


def test_read_invoice_refuses_an_encrypted_pdf():
    # given a PDF encrypted with a user password (pypdf writes it)
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 100)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)

    reading = read_invoice(buffer.getvalue(), "locked.pdf")

    assert reading.status == UNREADABLE
    assert reading.error == "encrypted"


@pytest.mark.skipif(not (REAL / "truth.json").exists(), reason="no real invoices here")
@pytest.mark.parametrize("suffix", [".ofd", ".pdf"])
def test_read_invoice_reads_real_text_invoices_exactly(suffix):
    # given the real e-invoices with a text layer or OFD, and their hand-read fields
    entries = [
        entry
        for entry in json.loads((REAL / "truth.json").read_text(encoding="utf-8"))
        if entry["file"].endswith(suffix)
    ]
    assert entries

    for entry in entries:
        reading = read_invoice((REAL / entry["file"]).read_bytes(), entry["file"])

        expected = {
            name: entry["fields"][truth_name]
            for truth_name, name in REAL_FIELDS.items()
            if truth_name in entry["fields"]
        }
        assert {name: reading.value(name) for name in expected} == expected, entry["file"]
        assert reading.seconds < 0.5


def test_choose_takes_a_party_name_the_first_engine_gave_to_the_wrong_party():
    # given Tesseract missed the buyer's line and read the seller's name as the buyer's,
    # and RapidOCR read both parties apart
    first = InvoiceReading(
        fields={"buyer_name": FieldReading("青岛宏图贸易有限公司", 99, "ocr:tesseract")}
    )
    second = InvoiceReading(
        fields={
            "buyer_name": FieldReading("无锡明远汽车服务有限公司", 90, "ocr:rapidocr"),
            "seller_name": FieldReading("青岛宏图贸易有限公司", 87, "ocr:rapidocr"),
        }
    )

    # when the readings are combined
    reading, chosen = _choose(first, second)

    # then each party keeps the name read on its own line, though less confidently
    assert reading.value("buyer_name") == "无锡明远汽车服务有限公司"
    assert reading.value("seller_name") == "青岛宏图贸易有限公司"
    assert chosen == {"buyer_name", "seller_name"}


def test_choose_keeps_parties_the_first_engine_read_apart():
    # given Tesseract read both parties apart and RapidOCR read them the other way round
    first = InvoiceReading(
        fields={
            "buyer_name": FieldReading("无锡明远汽车服务有限公司", 95, "ocr:tesseract"),
            "seller_name": FieldReading("青岛宏图贸易有限公司", 95, "ocr:tesseract"),
        }
    )
    second = InvoiceReading(
        fields={
            "buyer_name": FieldReading("青岛宏图贸易有限公司", 90, "ocr:rapidocr"),
            "seller_name": FieldReading("无锡明远汽车服务有限公司", 90, "ocr:rapidocr"),
        }
    )

    reading, chosen = _choose(first, second)

    # then nothing is swapped
    assert reading.value("buyer_name") == "无锡明远汽车服务有限公司"
    assert reading.value("seller_name") == "青岛宏图贸易有限公司"
    assert chosen == set()
