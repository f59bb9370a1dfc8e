"""Claims queue bench: `python -m bench.claims_queue [--rows 1000000] [--requests 200]` prints
JSON.

Claims are bulk-inserted once into the database of DATABASE_URL (PostgreSQL for the figures
that count; kept between runs, topped up to --rows), most of them decided and a few per cent
waiting in the queue, across dealers, regions and programs. Then, in one process and one run,
the same filtered first page is read through: the claims queue API, the HTML queue page, and a
bare DRF ListAPIView with CursorPagination over the same table and serializer. Each reports
p50/p95 server time (test client, no network), requests per second (one client) and the
query count of a page, which must not grow with the page size.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261125
BATCH = 5_000
urlpatterns: list = []  # set in main(): the project's URLs plus the bare view


def _setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ssa_ops.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _world():
    """The fixed cast: regions, dealers, one program with a rule, an ops user."""
    from dealers.credit_code import credit_code_generate
    from dealers.models import Dealer, Region
    from programs.models import Program, ProgramRule, VehicleModel
    from ssa_ops.models import User
    from ssa_ops.roles import Role

    rng = random.Random(SEED)
    regions = [
        Region.objects.get_or_create(code=f"BR{n}", defaults={"name_zh": f"大区{n}"})[0]
        for n in range(6)
    ]
    dealers = []
    for n in range(200):
        dealer, _ = Dealer.objects.get_or_create(
            code=f"BQ{n:04d}",
            defaults={
                "name_zh": f"基准经销商{n}",
                "region": regions[n % len(regions)],
                "legal_entity": f"基准经销商{n}有限公司",
                "credit_code": credit_code_generate(rng),
            },
        )
        dealers.append(dealer)
    model, _ = VehicleModel.objects.get_or_create(
        code="BENCH-A", defaults={"series": "B", "name_zh": "基准车型", "msrp": "200000"}
    )
    programs = []
    for code in ("BENCH-FLEET", "BENCH-LEASE", "BENCH-VIP"):
        program, _ = Program.objects.get_or_create(
            code=code, defaults={"type": "fleet", "name_zh": code}
        )
        ProgramRule.objects.get_or_create(
            program=program,
            version=1,
            defaults={
                "valid_from": datetime.date(2020, 1, 1),
                "eligible_models": [{"model": model.code, "amount": "5000.00"}],
                "max_units_per_customer": 100,
                "period_days": 365,
                "claim_window_days": 90,
            },
        )
        programs.append(program)
    ops = User.objects.filter(username="bench-ops").first()
    if ops is None:
        from django.contrib.auth.models import Group

        ops = User.objects.create_user(username="bench-ops", password="bench")
        ops.groups.set([Group.objects.get(name=Role.OPS)])
    return dealers, programs, model, ops


def claim_build(serial, *, dealer, program, rule, model, filed_by, status, queued, **fields):
    """One unsaved claim, numbered by `serial` (VIN and invoice number unique per serial),
    filed and queued at `queued`; `fields` set the rest (decided_at, assigned_to...)."""
    from claims.models import Claim
    from ssa_ops.validation import vin_check_digit

    body = f"LBE{serial:014d}"
    return Claim(
        dealer=dealer,
        program=program,
        rule=rule,
        status=status,
        customer_kind="corporate",
        vin=body[:8] + vin_check_digit(body) + body[9:],
        vehicle_model=model,
        invoice_number=f"B{serial:011d}",
        invoice_date=queued.date(),
        invoice_amount=Decimal("200000.00"),
        buyer_name="基准客户",
        delivery_date=queued.date(),
        support_amount=Decimal("5000.00"),
        created_by=filed_by,
        submitted_at=queued,
        queued_at=queued,
        **fields,
    )


def _fill(rows, dealers, programs, model, ops) -> float:
    """Top the claims table up to `rows`; returns the seconds it took."""
    from django.db import connection
    from django.utils import timezone

    from claims.models import Claim

    have = Claim.objects.count()
    if have >= rows:
        return 0.0
    rng = random.Random(SEED + have)
    rules = {p.pk: p.rules.get() for p in programs}
    now = timezone.now()
    states = ["approved"] * 40 + ["settled"] * 35 + ["rejected"] * 10 + ["withdrawn"] * 5
    states += ["submitted"] * 4 + ["resubmitted"] + ["in_review"] * 3 + ["reset"] * 2
    started = time.perf_counter()
    serial = have
    while serial < rows:
        batch = []
        for _ in range(min(BATCH, rows - serial)):
            serial += 1
            program = programs[serial % len(programs)]
            queued = now - datetime.timedelta(minutes=rng.randint(0, 90 * 24 * 60))
            batch.append(
                claim_build(
                    serial,
                    dealer=dealers[serial % len(dealers)],
                    program=program,
                    rule=rules[program.pk],
                    model=model,
                    filed_by=ops,
                    status=rng.choice(states),
                    queued=queued,
                )
            )
        Claim.objects.bulk_create(batch, batch_size=BATCH)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE claims_claim")
    return time.perf_counter() - started


def _bare_view():
    from rest_framework.generics import ListAPIView
    from rest_framework.pagination import CursorPagination
    from rest_framework.permissions import IsAuthenticated

    from claims.api import ClaimSerializer
    from claims.models import Claim

    class Pages(CursorPagination):
        ordering = ("queued_at", "id")
        page_size = 50

    class BareClaimList(ListAPIView):
        serializer_class = ClaimSerializer
        pagination_class = Pages
        permission_classes = [IsAuthenticated]

        def get_queryset(self):
            params = self.request.query_params
            return Claim.objects.select_related(
                "dealer", "program", "vehicle_model", "assigned_to"
            ).filter(status=params["status"], program_id=params["program"])

    return BareClaimList.as_view()


def _measure(call, requests) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm: permissions cached as in a served request's first use
    times, queries = [], 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = call()
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "requests_per_second": round(1000 / statistics.mean(times), 1),
        "queries": queries,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    _setup()
    from django.db import connection
    from django.test import Client, override_settings
    from django.urls import clear_url_caches, include, path
    from rest_framework.test import APIClient

    dealers, programs, model, ops = _world()
    filled = _fill(args.rows, dealers, programs, model, ops)
    program = programs[0].pk
    api = APIClient()
    api.force_authenticate(ops)
    page = Client()
    page.force_login(ops)
    # The bare view is served through the same middleware and client as the app's API.
    global urlpatterns
    urlpatterns = [path("bench/claims/", _bare_view()), path("", include("ssa_ops.urls"))]
    override_settings(ROOT_URLCONF=__name__).enable()
    clear_url_caches()
    query = {"status": "submitted", "program": program}

    def bare_call():
        return api.get("/bench/claims/", query)

    results = {
        "benchmark": "claims_queue",
        "database": connection.vendor,
        "claims": args.rows,
        "fill_seconds": round(filled, 1),
        "queue_api": _measure(lambda: api.get("/api/v1/claims/", query), args.requests),
        "queue_page": _measure(lambda: page.get("/claims/", query), args.requests),
        "bare_list_api": _measure(bare_call, args.requests),
    }
    results["api_vs_bare_throughput"] = round(
        results["queue_api"]["requests_per_second"]
        / results["bare_list_api"]["requests_per_second"],
        2,
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
