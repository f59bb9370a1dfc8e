"""`make bench` / `python -m bench`: performance figures as JSON.

dealer_import: N dealers plus one contact each, imported from one .xlsx through the SSA Ops
pipeline and, in the same run on the same file and models, through django-import-export.
Each side runs in its own process on its own fresh copy of a migrated database, so peak
memory (max RSS) is that side's alone.

Then the invoice reader (bench.invoice_ocr) and, on PostgreSQL (BENCH_PG_URL, default
postgres://postgres@127.0.0.1:5432), the claims queue (bench.claims_queue, in the database
claims_bench_queue, created once and kept: its claims are only topped up) and bulk decisions
with the monthly settlement (bench.claims_bulk, in claims_bench_bulk, made anew each run).
Each part can be skipped, e.g. `make bench BENCH_ARGS="--skip-dealer-import --skip-invoice-ocr"`.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench"
QUEUE_DATABASE = "claims_bench_queue"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000, help="dealers (each with one contact)")
    parser.add_argument(
        "--skip-import-export", action="store_true", help="only measure the SSA Ops pipeline"
    )
    parser.add_argument("--queue-rows", type=int, default=1_000_000, help="claims in the queue")
    parser.add_argument("--bulk-claims", type=int, default=10_000, help="claims bulk-approved")
    parser.add_argument("--settle-dealers", type=int, default=1_000, help="dealers settled")
    for part in ("dealer-import", "invoice-ocr", "claims-queue", "claims-bulk"):
        parser.add_argument(f"--skip-{part}", action="store_true")
    args = parser.parse_args()
    if not args.skip_dealer_import:
        _dealer_import(args)
    if not args.skip_invoice_ocr:
        subprocess.run([sys.executable, "-m", "bench.invoice_ocr"], cwd=ROOT, check=True)
    if not (args.skip_claims_queue and args.skip_claims_bulk):
        _claims(args)


def _dealer_import(args):
    WORK.mkdir(parents=True, exist_ok=True)
    workbook = WORK / f"dealers-{args.rows}.xlsx"
    if not workbook.exists():
        _child("generate", workbook, None, rows=args.rows)
    template = WORK / "template.sqlite3"
    template.unlink(missing_ok=True)
    _child("prepare", workbook, template)
    results = {
        "benchmark": "dealer_import",
        "dealers": args.rows,
        "contacts": args.rows,
        "database": "sqlite",
    }
    sides = ["pipeline"] if args.skip_import_export else ["pipeline", "import_export"]
    for side in sides:
        database = WORK / f"{side}.sqlite3"
        shutil.copyfile(template, database)
        results[side] = _child(side, workbook, database)
    if "import_export" in results:
        results["speedup"] = round(
            results["pipeline"]["rows_per_second"] / results["import_export"]["rows_per_second"], 1
        )
        results["memory_ratio"] = round(
            results["pipeline"]["peak_rss_mb"] / results["import_export"]["peak_rss_mb"], 2
        )
    print(json.dumps(results, indent=2))


def _claims(args):
    import psycopg

    from bench.claims_bulk import SERVER

    try:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [QUEUE_DATABASE]
            ).fetchone()
            if not args.skip_claims_queue and found is None:
                connection.execute(f"CREATE DATABASE {QUEUE_DATABASE}")
    except psycopg.OperationalError as error:
        print(json.dumps({"benchmark": "claims", "skipped": f"no PostgreSQL: {error}"}))
        return
    if not args.skip_claims_queue:
        env = {**os.environ, "DATABASE_URL": f"{SERVER}/{QUEUE_DATABASE}", "AXES_ENABLED": "0"}
        env.pop("CELERY_BROKER_URL", None)
        command = [sys.executable, "-m", "bench.claims_queue", "--rows", str(args.queue_rows)]
        subprocess.run(command, cwd=ROOT, env=env, check=True)
    if not args.skip_claims_bulk:
        command = [sys.executable, "-m", "bench.claims_bulk", "--claims", str(args.bulk_claims)]
        command += ["--dealers", str(args.settle_dealers)]
        subprocess.run(command, cwd=ROOT, check=True)


def _child(mode, workbook, database, rows=0):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ssa_ops.settings",
        "DEBUG": "1",
        "AXES_ENABLED": "0",
    }
    env.pop("CELERY_BROKER_URL", None)
    if database is not None:
        env["DATABASE_URL"] = f"sqlite:///{database}"
    command = [sys.executable, "-m", "bench.dealer_import", mode, str(workbook), str(rows)]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"bench step {mode} failed")
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


if __name__ == "__main__":
    main()
