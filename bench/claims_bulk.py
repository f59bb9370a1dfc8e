"""Claims bulk bench: `python -m bench.claims_bulk [--claims 10000] [--dealers 1000]
[--claims-per-dealer 20]` prints JSON.

On PostgreSQL only, in a database of its own (BENCH_PG_URL's server, default
postgres://postgres@127.0.0.1:5432, database claims_bench_bulk, dropped and created anew on
each run), each step in its own process:

- prepare: migrate, then bulk-insert --claims claims in review (picked up by an ops user,
  filed by a dealer user) and, for --dealers further dealers, --claims-per-dealer claims each
  approved last month.
- approve: the claims in review approved through `claims_bulk_decide`, the code the bulk job
  runs: BULK_BATCH claims to a transaction, each claim locked, checked, transitioned and
  audited on its own. Claims per second, audit events written and queries per claim.
- settle: `settlement_run` for last month (one batch per dealer, each claim locked, settled
  and audited), then `settlement_statement` for every batch. Seconds for each and the
  process's peak memory (max RSS; Django loaded before the run is the `baseline_rss_mb`).

Django runs with DEBUG off for the measured steps (no query log kept in memory).
"""

import argparse
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "claims_bench_bulk"
SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
BATCH = 5_000


def _database_recreate() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")


def _last_month() -> datetime.date:
    from django.utils import timezone

    return (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def _users():
    """The dealer user who filed every claim, and the ops lead who settles (four eyes: the ops
    user of bench.claims_queue decides, never the filer)."""
    from django.contrib.auth.models import Group

    from ssa_ops.models import User
    from ssa_ops.roles import Role

    users = []
    for username, role in (("bench-dealer", Role.DEALER), ("bench-lead", Role.OPS_LEAD)):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, password="bench")
            user.groups.set([Group.objects.get(name=role)])
        users.append(user)
    return users


def _prepare(args) -> dict:
    from bench.claims_queue import _setup, _world, claim_build

    _setup()
    from django.db import connection
    from django.utils import timezone

    from claims.models import Claim
    from dealers.credit_code import credit_code_generate
    from dealers.models import Dealer

    dealers, programs, model, ops = _world()
    dealer_user, _lead = _users()
    rules = {p.pk: p.rules.get() for p in programs}
    rng = random.Random(20261126)
    now = timezone.now()
    started = time.perf_counter()
    serial = 0

    def build(dealer, status, at, **fields):
        nonlocal serial
        serial += 1
        program = programs[serial % len(programs)]
        return claim_build(
            serial,
            dealer=dealer,
            program=program,
            rule=rules[program.pk],
            model=model,
            filed_by=dealer_user,
            status=status,
            queued=at,
            **fields,
        )

    in_review = []
    for n in range(args.claims):
        queued = now - datetime.timedelta(minutes=rng.randint(60, 30 * 24 * 60))
        in_review.append(
            build(
                dealers[n % len(dealers)],
                Claim.Status.IN_REVIEW,
                queued,
                assigned_to=ops,
                picked_up_at=queued + datetime.timedelta(minutes=30),
            )
        )
    Claim.objects.bulk_create(in_review, batch_size=BATCH)
    region = dealers[0].region
    settling = Dealer.objects.bulk_create(
        [
            Dealer(
                code=f"BS{n:05d}",
                name_zh=f"结算经销商{n}",
                region=region,
                legal_entity=f"结算经销商{n}有限公司",
                credit_code=credit_code_generate(rng),
            )
            for n in range(args.dealers)
        ],
        batch_size=BATCH,
    )
    month = _last_month()
    days = ((month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - month).days
    approved = []
    for dealer in settling:
        for _ in range(args.claims_per_dealer):
            decided = timezone.make_aware(
                datetime.datetime.combine(month, datetime.time(9))
                + datetime.timedelta(days=rng.randrange(days), minutes=rng.randint(0, 480))
            )
            queued = decided - datetime.timedelta(days=3)
            approved.append(
                build(
                    dealer,
                    Claim.Status.APPROVED,
                    queued,
                    assigned_to=ops,
                    picked_up_at=queued,
                    decided_by=ops,
                    decided_at=decided,
                )
            )
        if len(approved) >= BATCH:
            Claim.objects.bulk_create(approved, batch_size=BATCH)
            approved = []
    Claim.objects.bulk_create(approved, batch_size=BATCH)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"generate_seconds": round(time.perf_counter() - started, 1)}


def _django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ssa_ops.settings")
    import django

    django.setup()
    from django.test import override_settings

    override_settings(DEBUG=False).enable()


def _approve(args) -> dict:
    _django()
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from claims.models import Claim
    from claims.services import claims_bulk_decide
    from ssa_ops.models import AuditEvent, User

    ops = User.objects.get(username="bench-ops")
    ids = list(
        Claim.objects.filter(status=Claim.Status.IN_REVIEW)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    events = AuditEvent.objects.filter(content_type=ContentType.objects.get_for_model(Claim))
    events_before = events.count()
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    steps = []
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        decided, skipped = claims_bulk_decide(
            actor=ops,
            claim_ids=ids,
            decision="approve",
            progress=lambda done, total: steps.append(done),
        )
        seconds = time.perf_counter() - started
    assert not skipped, skipped[:3]
    approved = Claim.objects.filter(pk__in=ids, status=Claim.Status.APPROVED).count()
    assert approved == len(ids) == len(decided), (approved, len(ids), len(decided))
    return {
        "claims": len(ids),
        "approved": approved,
        "seconds": round(seconds, 2),
        "claims_per_second": round(len(ids) / seconds, 1),
        "audit_events_written": events.count() - events_before,
        "queries_per_claim": round(queries / len(ids), 2),
    }


def _settle(args) -> dict:
    _django()
    from claims.models import SettlementBatch
    from claims.services import settlement_run, settlement_statement
    from ssa_ops.models import AuditEvent, User

    lead = User.objects.get(username="bench-lead")
    month = _last_month()
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    events_before = AuditEvent.objects.count()
    started = time.perf_counter()
    batches = settlement_run(actor=lead, month=month)
    run_seconds = time.perf_counter() - started
    run_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    events = AuditEvent.objects.count() - events_before
    started = time.perf_counter()
    size = 0
    for batch in SettlementBatch.objects.filter(month=month).select_related("dealer"):
        size += len(settlement_statement(batch))
    statement_seconds = time.perf_counter() - started
    claims = sum(batch.claim_count for batch in batches)
    return {
        "month": month.isoformat(),
        "dealers": len(batches),
        "claims_settled": claims,
        "run_seconds": round(run_seconds, 2),
        "claims_per_second": round(claims / run_seconds, 1),
        "audit_events_written": events,
        "statements": len(batches),
        "statements_seconds": round(statement_seconds, 2),
        "statement_bytes_total": size,
        "baseline_rss_mb": round(baseline, 1),
        "run_peak_rss_mb": round(run_rss, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


STEPS = {"prepare": _prepare, "approve": _approve, "settle": _settle}


def _child(step, args) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ssa_ops.settings",
        "DATABASE_URL": f"{SERVER}/{DATABASE}",
        "AXES_ENABLED": "0",
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("DEBUG", None)
    command = [sys.executable, "-m", "bench.claims_bulk", *sys.argv[1:], "--step", step]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"bench step {step} failed")
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=10_000, help="claims to bulk-approve")
    parser.add_argument("--dealers", type=int, default=1_000, help="dealers to settle")
    parser.add_argument("--claims-per-dealer", type=int, default=20)
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args)))
        return
    _database_recreate()
    results = {"benchmark": "claims_bulk", "database": "postgresql"}
    results.update(_child("prepare", args))
    results["bulk_approve"] = _child("approve", args)
    results["settlement"] = _child("settle", args)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
