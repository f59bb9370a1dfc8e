"""`manage.py ocr_invoice FILE [FILE ...] [--json]`: read invoices the way the claim task does."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from claims.invoice_reader import FIELD_NAMES, read_invoice


class Command(BaseCommand):
    help = "Read invoice files (OFD, PDF or images) and print their fields and checks."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="invoice files")
        parser.add_argument("--json", action="store_true", help="print a JSON list")

    def handle(self, *args, **options):
        results = []
        for name in options["files"]:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError:
                data = b""
            reading = read_invoice(data, path.name)
            results.append(reading.as_json(str(name)))
        if options["json"]:
            self.stdout.write(json.dumps(results, ensure_ascii=False, indent=2))
            return
        for result in results:
            self._table(result)

    def _table(self, result):
        status = result["status"] + (f" ({result['error']})" if result["error"] else "")
        self.stdout.write(
            f"{result['file']}: {result['type']}, {status}, "
            f"{result['engine'] or '-'}, {result['seconds']:.2f} s"
        )
        for name in FIELD_NAMES:
            value = result["fields"][name]
            confidence = result["confidence"][name]
            self.stdout.write(
                f"  {name:<16} {value if value is not None else '-':<40} {confidence:>3}"
            )
        for check, passed in result["checks"].items():
            mark = "ok" if passed else "FAILED"
            self.stdout.write(f"  check {check:<28} {mark}")
