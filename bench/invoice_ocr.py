"""Invoice reader bench: `python -m bench.invoice_ocr [--documents 90]` prints JSON.

Generated invoices (every kind, every variant, fixed seed) are read by `read_invoice` in a
pool of worker processes (the Celery worker's concurrency); per-field accuracy per variant,
seconds per page and pages per minute are reported, with the raw `tesseract` CLI time on
the same images in the same run. The real invoices in ../shared/invoices-real-dev/ (when
present) are read and scored against their hand-read truth. The comparison's safety rule
is checked on every document: a claim with one VIN character or the total changed is
never a "match".
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "invoices"
REAL = ROOT / ".." / "shared" / "invoices-real-dev"
SEED = 20251125
WORKER_PROCESSES = 2
TESSERACT_COMMAND = ["tesseract", "{image}", "-", "-l", "chi_sim", "--psm", "11"]

SCAN_VARIANTS = ("clean", "rotated", "noise_blur", "jpeg30", "low_contrast", "pdf_image")
PHOTO_VARIANTS = ("photo",)
TEXT_VARIANTS = ("pdf_text", "ofd")
KEY_FIELDS = ("invoice_number", "issue_date", "total_amount")
NAME_FIELDS = ("buyer_name", "seller_name")
# truth.json names → ocr_invoice names
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=90, help="generated invoices")
    parser.add_argument("--processes", type=int, default=WORKER_PROCESSES)
    parser.add_argument(
        "--engine-sample",
        type=int,
        default=2,
        help="also read every n-th image with each engine alone (0: never)",
    )
    parser.add_argument("--dump", help="also write every document's result to this JSON file")
    args = parser.parse_args()
    from claims.invoice_reader.synthetic import KINDS, VARIANTS

    WORK.mkdir(parents=True, exist_ok=True)
    jobs = [
        (
            index,
            KINDS[(index // len(VARIANTS)) % len(KINDS)],
            VARIANTS[index % len(VARIANTS)],
            args.engine_sample > 0 and index % args.engine_sample == 0,
        )
        for index in range(args.documents)
    ]
    context = get_context("spawn")
    with context.Pool(args.processes, initializer=_warm_up) as pool:
        pool.map(_noop, range(args.processes))
        started = time.perf_counter()
        documents = pool.map(_read_generated, jobs, chunksize=1)
        wall = time.perf_counter() - started
    for doc in documents:
        if doc["raw_tesseract_seconds"] is None:
            del doc["raw_tesseract_seconds"]
    images = [doc for doc in documents if "raw_tesseract_seconds" in doc]
    results = {
        "benchmark": "invoice_ocr",
        "documents": len(documents),
        "worker_processes": args.processes,
        "cpu_count": os.cpu_count(),
        "engines": _engines(),
        "by_variant": _by_variant(documents),
        "targets": _targets(documents),
        "throughput": {
            "pages_per_minute_text_documents": _per_minute(
                [d for d in documents if d["variant"] in TEXT_VARIANTS], args.processes
            ),
            "pages_per_minute_images": _per_minute(images, args.processes),
            "raw_tesseract_pages_per_minute": round(
                len(images) / sum(d["raw_tesseract_seconds"] for d in images) * 60 * args.processes,
                1,
            ),
            "bench_wall_seconds": round(wall, 1),
        },
        "engines_alone": _engines_alone(documents),
        "safety": _safety(documents),
        "real": _real_files(),
    }
    if args.dump:
        Path(args.dump).write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))


def _noop(_):
    return None


def _warm_up():
    from claims.invoice_reader import ocr

    ocr.rapidocr_engine()


def _engines():
    from claims.invoice_reader import ocr

    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
    return {
        "tesseract": (version.stdout or version.stderr).splitlines()[0],
        "rapidocr": ocr.rapidocr_available(),
    }


def _read_generated(job):
    from claims.invoice_reader import read_invoice
    from claims.invoice_reader.compare import MATCH, invoice_compare
    from claims.invoice_reader.synthetic import invoice_generate, invoice_image, invoice_render

    index, kind, variant, compare_engines = job
    rng = random.Random(SEED + index)
    invoice = invoice_generate(rng, kind)
    document = invoice_render(invoice, variant, rng)
    image_path = None
    if variant not in TEXT_VARIANTS:
        image_path = WORK / f"{index:03d}-{document.filename}"
        if variant == "pdf_image":
            image_path = image_path.with_suffix(".png")
            invoice_image(invoice, 300).save(image_path)
        else:
            image_path.write_bytes(document.data)
    reading = read_invoice(document.data, document.filename)
    # Raw Tesseract on the same image, in the same process, right after: same machine load.
    raw_seconds = _raw_tesseract(str(image_path)) if image_path else None
    values = {name: reading.value(name) for name in invoice.truth}
    # The safety rule: claims that differ from the invoice by one character are never a match.
    changed = []
    if invoice.truth.get("vin"):
        vin = invoice.truth["vin"]
        position = rng.randrange(17)
        replacement = next(char for char in "A1B2C3" if char != vin[position])
        changed.append(("vin", vin[:position] + replacement + vin[position + 1 :]))
    total = invoice.truth["total_amount"]
    changed.append(("total_amount", total[:-1] + str((int(total[-1]) + 1) % 10)))
    unsafe = []
    for name, claim_value in changed:
        comparison = invoice_compare(reading, {**invoice.truth, name: claim_value})
        if comparison.fields[name].result == MATCH:
            unsafe.append(name)
    honest = invoice_compare(reading, invoice.truth)
    engines = {}
    if compare_engines and variant in SCAN_VARIANTS + PHOTO_VARIANTS and variant != "pdf_image":
        from claims.invoice_reader.reader import read_image_with

        for engine in ("tesseract", "rapidocr"):
            alone = read_image_with(document.data, engine)
            engines[engine] = {
                "seconds": alone.seconds,
                "values": {name: alone.value(name) for name in invoice.truth},
            }
    return {
        "index": index,
        "kind": kind,
        "variant": variant,
        "file": document.filename,
        "image": str(image_path) if image_path else None,
        "seconds": reading.seconds,
        "raw_tesseract_seconds": raw_seconds,
        "pages": max(reading.pages, 1),
        "engine": reading.engine,
        "type_correct": reading.type == kind,
        "truth": invoice.truth,
        "values": values,
        "unsafe_matches": unsafe,
        "engines_alone": engines,
        "overall": honest.result,
        "wrong_matches": [
            name
            for name, item in honest.fields.items()
            if item.result == MATCH and values.get(name) != invoice.truth[name]
        ],
    }


def _raw_tesseract(image_path):
    command = [part.replace("{image}", image_path) for part in TESSERACT_COMMAND]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, env=env, check=False)
    return time.perf_counter() - started


def _accuracy(documents, fields):
    right = total = 0
    for doc in documents:
        for name in fields:
            expected = doc["truth"].get(name)
            if expected is None:
                continue
            total += 1
            right += doc["values"].get(name) == expected
    return round(100 * right / total, 1) if total else None


def _by_variant(documents):
    from claims.invoice_reader.fields import FIELD_NAMES

    variants = {}
    for variant in sorted({doc["variant"] for doc in documents}):
        group = [doc for doc in documents if doc["variant"] == variant]
        seconds = [doc["seconds"] / doc["pages"] for doc in group]
        entry = {
            "documents": len(group),
            "all_fields_percent": _accuracy(group, FIELD_NAMES),
            "fields_percent": {name: _accuracy(group, (name,)) for name in FIELD_NAMES},
            "type_percent": round(100 * sum(doc["type_correct"] for doc in group) / len(group), 1),
            "seconds_per_page_mean": round(statistics.mean(seconds), 3),
            "seconds_per_page_max": round(max(seconds), 3),
            "engines": sorted({doc["engine"] for doc in group}),
            "overall_pass_percent": round(
                100 * sum(doc["overall"] == "pass" for doc in group) / len(group), 1
            ),
        }
        entry["misses"] = [
            {
                "document": doc["index"],
                "kind": doc["kind"],
                "field": name,
                "read": value,
                "truth": doc["truth"][name],
            }
            for doc in group
            for name, value in doc["values"].items()
            if doc["truth"][name] is not None and value != doc["truth"][name]
        ][:8]
        raw = [doc["raw_tesseract_seconds"] for doc in group if "raw_tesseract_seconds" in doc]
        if raw:
            entry["raw_tesseract_seconds_mean"] = round(statistics.mean(raw), 3)
            entry["pipeline_to_raw_tesseract"] = round(
                statistics.mean(seconds) / statistics.mean(raw), 2
            )
        variants[variant] = entry
    return variants


def _targets(documents):
    from claims.invoice_reader.fields import FIELD_NAMES

    text = [doc for doc in documents if doc["variant"] in TEXT_VARIANTS]
    scans = [doc for doc in documents if doc["variant"] in SCAN_VARIANTS]
    photos = [doc for doc in documents if doc["variant"] in PHOTO_VARIANTS]
    images = scans + photos
    pipeline = [doc["seconds"] / doc["pages"] for doc in images]
    raw = [doc["raw_tesseract_seconds"] for doc in images if "raw_tesseract_seconds" in doc]
    text_ms = [1000 * doc["seconds"] / doc["pages"] for doc in text]
    return {
        "text_documents_all_fields_percent": _accuracy(text, FIELD_NAMES),
        "text_documents_ms_per_page_mean": round(statistics.mean(text_ms), 1) if text_ms else None,
        "text_documents_ms_per_page_max": round(max(text_ms), 1) if text_ms else None,
        "scans_key_fields_percent": {name: _accuracy(scans, (name,)) for name in KEY_FIELDS},
        "photos_key_fields_percent": {name: _accuracy(photos, (name,)) for name in KEY_FIELDS},
        "scans_names_percent": _accuracy(scans, NAME_FIELDS),
        "photos_names_percent": _accuracy(photos, NAME_FIELDS),
        "image_seconds_per_page_mean": round(statistics.mean(pipeline), 3) if pipeline else None,
        "raw_tesseract_seconds_per_page_mean": round(statistics.mean(raw), 3) if raw else None,
        "image_pipeline_to_raw_tesseract": (
            round(statistics.mean(pipeline) / statistics.mean(raw), 2) if raw else None
        ),
    }


def _per_minute(documents, processes):
    if not documents:
        return None
    seconds = sum(doc["seconds"] for doc in documents)
    pages = sum(doc["pages"] for doc in documents)
    return round(pages / seconds * 60 * processes, 1)


def _engines_alone(documents):
    """Each engine alone on a sample of the images, beside the combined pipeline."""
    from claims.invoice_reader.fields import FIELD_NAMES

    sample = [doc for doc in documents if doc["engines_alone"]]
    if not sample:
        return None
    result = {"documents": len(sample)}
    for engine in ("tesseract", "rapidocr", "combined"):
        right = total = 0
        per_field = {}
        for name in FIELD_NAMES:
            field_right = field_total = 0
            for doc in sample:
                expected = doc["truth"].get(name)
                if expected is None:
                    continue
                values = (
                    doc["values"]
                    if engine == "combined"
                    else doc["engines_alone"][engine]["values"]
                )
                field_total += 1
                field_right += values.get(name) == expected
            if field_total:
                per_field[name] = round(100 * field_right / field_total, 1)
                right += field_right
                total += field_total
        seconds = [
            doc["seconds"] if engine == "combined" else doc["engines_alone"][engine]["seconds"]
            for doc in sample
        ]
        result[engine] = {
            "all_fields_percent": round(100 * right / total, 1),
            "fields_percent": per_field,
            "seconds_per_page_mean": round(statistics.mean(seconds), 3),
        }
    return result


def _safety(documents):
    return {
        "claims_with_one_change": sum(2 if doc["truth"].get("vin") else 1 for doc in documents),
        "changed_value_reported_as_match": sum(len(doc["unsafe_matches"]) for doc in documents),
        "wrong_value_reported_as_match": sum(len(doc["wrong_matches"]) for doc in documents),
    }


def _real_files():
    from claims.invoice_reader import read_invoice

    truth_path = REAL / "truth.json"
    if not truth_path.exists():
        return {"skipped": "no real invoices next to the repository"}
    entries = json.loads(truth_path.read_text(encoding="utf-8"))
    files = []
    right = total = 0
    for entry in entries:
        path = REAL / entry["file"]
        if not path.exists():
            continue
        reading = read_invoice(path.read_bytes(), path.name)
        wrong = {}
        fields = 0
        for truth_name, name in REAL_FIELDS.items():
            expected = entry["fields"].get(truth_name)
            if expected is None:
                continue
            fields += 1
            if reading.value(name) != expected:
                wrong[name] = {"read": reading.value(name), "truth": expected}
        right += fields - len(wrong)
        total += fields
        files.append(
            {
                "file": entry["file"],
                "engine": reading.engine,
                "type": reading.type,
                "seconds": round(reading.seconds, 3),
                "fields": fields,
                "correct": fields - len(wrong),
                "wrong": wrong,
            }
        )
    return {"fields_percent": round(100 * right / total, 1) if total else None, "files": files}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
