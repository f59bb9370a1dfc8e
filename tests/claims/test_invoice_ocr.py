"""A few end-to-end reads through real Tesseract (and RapidOCR when installed)."""

import io
import json
import random
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from claims.invoice_reader import read_invoice
from claims.invoice_reader.compare import MATCH, PASS, invoice_compare
from claims.invoice_reader.fields import MOTOR_VEHICLE, VAT_ELECTRONIC, VAT_SPECIAL
from claims.invoice_reader.synthetic import invoice_generate, invoice_image, invoice_render

REAL = Path(settings.BASE_DIR) / ".." / "shared" / "invoices-real-dev"

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract")


def test_read_invoice_reads_a_generated_motor_vehicle_scan():
    # given a clean scan of a generated motor-vehicle sales invoice, fixed seed
    rng = random.Random(11)
    invoice = invoice_generate(rng, MOTOR_VEHICLE)
    document = invoice_render(invoice, "clean", rng)

    reading = read_invoice(document.data, document.filename)

    # then the claim's key fields are read and match, the VIN with a valid check digit
    assert reading.type == MOTOR_VEHICLE
    assert reading.engine.startswith("tesseract")
    for name in ("invoice_number", "issue_date", "vin", "total_amount"):
        assert reading.value(name) == invoice.truth[name], name
    assert reading.checks["vin_check_digit"] is True
    comparison = invoice_compare(reading, {"vin": invoice.truth["vin"]})
    assert comparison.fields["vin"].result == MATCH
    assert comparison.result == PASS


def test_read_invoice_reads_a_generated_photo_with_a_stamp():
    # given a photographed VAT special invoice: perspective, uneven light, red stamp
    rng = random.Random(4)
    invoice = invoice_generate(rng, VAT_SPECIAL)
    document = invoice_render(invoice, "photo", rng)

    reading = read_invoice(document.data, document.filename)

    for name in ("invoice_number", "issue_date", "total_amount"):
        assert reading.value(name) == invoice.truth[name], name


@pytest.mark.skipif(not (REAL / "truth.json").exists(), reason="no real invoices here")
def test_ocr_invoice_command_prints_one_json_object_per_real_file():
    # given the real invoices
    entries = json.loads((REAL / "truth.json").read_text(encoding="utf-8"))
    files = [str(REAL / entry["file"]) for entry in entries]
    output = io.StringIO()

    call_command("ocr_invoice", *files, "--json", stdout=output)

    results = json.loads(output.getvalue())
    assert [result["file"] for result in results] == files
    for entry, result in zip(entries, results, strict=True):
        assert set(result) >= {
            "file",
            "engine",
            "seconds",
            "type",
            "fields",
            "confidence",
            "checks",
        }
        assert result["status"] == "read", entry["file"]
        # the invoice number and date of every real invoice, photos included
        assert result["fields"]["invoice_number"] == entry["fields"]["invoice_number"]
        assert result["fields"]["issue_date"] == entry["fields"]["issue_date"]


def test_read_invoice_turns_an_upside_down_scan_upright():
    # given a generated e-invoice scanned upside down
    rng = random.Random(2)
    invoice = invoice_generate(rng, VAT_ELECTRONIC)
    buffer = io.BytesIO()
    invoice_image(invoice).rotate(180).save(buffer, "PNG")

    reading = read_invoice(buffer.getvalue(), "upside-down.png")

    for name in ("invoice_number", "issue_date", "total_amount"):
        assert reading.value(name) == invoice.truth[name], name
