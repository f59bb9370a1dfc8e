"""The claims demo of seed_demo at its real size, seeded once for this module: each test reads
it inside its own savepoint, and the whole demo is rolled back after the module."""

import collections
import datetime
import io
import itertools

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, PreApplication, SettlementBatch
from claims.selectors import QUEUE_PAGE_SIZE
from programs.models import Qualification
from ssa_ops.models import Attachment, AuditEvent, User
from ssa_ops.personal_data import personal_hash
from ssa_ops.validation import resident_id_clean, vin_clean

pytestmark = pytest.mark.django_db


# The demo's default size (the rest of the suite seeds without the bulk history).
DEMO_SIZE = 1_920


@pytest.fixture(scope="module", autouse=True)
def _demo(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("demo-media")
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=fast, DEMO_BULK_RECORDS=DEMO_SIZE),
        transaction.atomic(),
    ):
        # force: pytest runs with DEBUG off, which seed_demo refuses without it
        call_command("seed_demo", force=True, stdout=io.StringIO())
        yield media
        transaction.set_rollback(True)


def _dealer(login):
    return User.objects.get(username=login).dealer


def _last_month():
    return (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def test_about_2000_records_across_states_programs_dealers_and_regions():
    # then: the default size, every state, spread over the dealers and the last six months
    records = Claim.objects.count() + PreApplication.objects.count()
    assert DEMO_SIZE + 60 <= records <= DEMO_SIZE + 120
    assert set(Claim.objects.values_list("status", flat=True)) == set(Claim.Status.values)
    assert set(PreApplication.objects.values_list("status", flat=True)) == set(
        PreApplication.Status.values
    )
    assert Claim.objects.values("dealer").distinct().count() >= 50
    assert Claim.objects.values("dealer__region").distinct().count() == 6
    assert set(Claim.objects.values_list("program__code", flat=True)) >= {
        "LEASE",
        "FLEET-KA",
        "EMPLOYEE",
    }
    now = timezone.now()
    oldest = Claim.objects.order_by("created_at").first().created_at
    assert now - datetime.timedelta(days=200) < oldest < now - datetime.timedelta(days=150)
    assert Claim.objects.filter(created_at__gt=now).count() == 0
    # the queue has more than a page of work, some of it waiting for days
    waiting = Claim.objects.filter(status__in=Claim.QUEUE_STATES)
    assert waiting.count() > 2 * QUEUE_PAGE_SIZE
    assert waiting.filter(queued_at__lt=now - datetime.timedelta(days=5)).exists()


def test_both_demo_dealers_have_claims_and_preapplications_in_every_state():
    for login in ("dealer", "dealer2"):
        dealer = _dealer(login)
        states = set(Claim.objects.filter(dealer=dealer).values_list("status", flat=True))
        assert states == set(Claim.Status.values), login
        pre_states = set(
            PreApplication.objects.filter(dealer=dealer).values_list("status", flat=True)
        )
        assert pre_states == set(PreApplication.Status.values), login


def test_duplicates_are_flagged_on_both_claims_of_each_pair():
    # then: a flag stands exactly where another claim has the invoice number or the file
    numbers = collections.Counter(Claim.objects.values_list("invoice_number", flat=True))
    claim_type = ContentType.objects.get_for_model(Claim)
    documents = Attachment.objects.filter(content_type=claim_type)
    files = collections.Counter(documents.values_list("sha256", flat=True))
    files_of = collections.defaultdict(set)
    for object_id, sha256 in documents.values_list("object_id", "sha256"):
        files_of[int(object_id)].add(sha256)
    for claim in Claim.objects.only(
        "pk", "invoice_number", "duplicate_invoice", "duplicate_document"
    ):
        assert claim.duplicate_invoice == (numbers[claim.invoice_number] > 1), claim
        shared = any(files[sha256] > 1 for sha256 in files_of[claim.pk])
        assert claim.duplicate_document == shared, claim
    assert 3 <= sum(1 for n in numbers.values() if n > 1) <= 10
    assert 3 <= sum(1 for n in files.values() if n > 1) <= 20
    # the demo dealers each have one of a pair, of each kind
    both = {_dealer("dealer"), _dealer("dealer2")}
    for flag in ("duplicate_invoice", "duplicate_document"):
        flagged = Claim.objects.filter(dealer__in=both, **{flag: True})
        assert flagged.values("dealer").distinct().count() == 2, flag


def test_one_settled_month_with_a_batch_per_dealer_whose_totals_are_its_claims():
    batches = SettlementBatch.objects.all()
    assert set(batches.values_list("month", flat=True)) == {_last_month()}
    assert batches.count() >= 50
    for batch in batches:
        totals = batch.claims.aggregate(n=Count("pk"), total=Sum("support_amount"))
        assert (batch.claim_count, batch.total_support) == (totals["n"], totals["total"])
        assert batch.claim_count > 0
        assert set(batch.claims.values_list("status", flat=True)) == {Claim.Status.SETTLED}
    assert not Claim.objects.filter(status=Claim.Status.SETTLED, settlement=None).exists()
    # what was approved before this month is settled; this month's approvals wait
    month_start = timezone.make_aware(
        datetime.datetime.combine(timezone.localdate().replace(day=1), datetime.time.min)
    )
    approved = Claim.objects.filter(status=Claim.Status.APPROVED)
    assert approved.exists()
    assert not approved.filter(decided_at__lt=month_start).exists()


def test_vins_are_valid_and_unique_among_live_claims_with_the_rules_support():
    live = Claim.objects.exclude(status__in=Claim.VIN_FREE_STATES)
    assert live.values("vin").distinct().count() == live.count()
    # a few vehicles were filed again after their claim was withdrawn or rejected
    refiled = Claim.objects.values("vin").annotate(n=Count("pk")).filter(n__gt=1)
    assert refiled.exists()
    for claim in Claim.objects.select_related("rule", "vehicle_model"):
        assert vin_clean(claim.vin) == claim.vin
        assert claim.support_amount == claim.rule.support_amount(claim.vehicle_model.code)
        assert claim.rule.valid_from <= claim.invoice_date <= timezone.localdate()


def test_buyer_id_numbers_are_encrypted_hashed_and_qualified():
    individuals = Claim.objects.exclude(buyer_id_number_hash="")
    assert individuals.count() > 100
    for claim in individuals:
        clear = claim.buyer_id_number.reveal()
        assert resident_id_clean(clear) == clear
        assert claim.buyer_id_number_hash == personal_hash("id_number", clear)
        assert Qualification.objects.filter(
            id_number_hash=claim.buyer_id_number_hash,
            program=claim.program,
            status=Qualification.Status.APPROVED,
        ).exists()
    assert not Claim.objects.filter(buyer_id_number="").exclude(buyer_id_number_hash="").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT buyer_id_number FROM claims_claim WHERE buyer_id_number <> ''")
        stored = [row[0] for row in cursor.fetchall()]
    assert stored and all(value.startswith("pd1:") for value in stored)


def test_each_claim_has_its_documents_and_a_timeline_that_ends_in_its_state():
    claim_type = ContentType.objects.get_for_model(Claim)
    events = collections.defaultdict(list)
    for event in AuditEvent.objects.filter(content_type=claim_type).exclude(to_state=""):
        events[int(event.object_id)].append(event)
    purposes = collections.defaultdict(set)
    for object_id, purpose in Attachment.objects.filter(content_type=claim_type).values_list(
        "object_id", "purpose"
    ):
        purposes[int(object_id)].add(purpose)
    for claim in Claim.objects.select_related("rule"):
        chain = sorted(events[claim.pk], key=lambda event: (event.created_at, event.pk))
        assert chain[0].action == "create" and chain[-1].to_state == claim.status, claim
        assert all(a.to_state == b.from_state for a, b in itertools.pairwise(chain)), claim
        if claim.status != Claim.Status.DRAFT:
            assert set(claim.rule.documents_for("claim")) <= purposes[claim.pk], claim
        if claim.status not in (Claim.Status.DRAFT, Claim.Status.WITHDRAWN):
            assert claim.created_at <= claim.submitted_at <= claim.queued_at, claim
        if claim.status == Claim.Status.IN_REVIEW:
            assert claim.assigned_to_id and claim.picked_up_at >= claim.queued_at, claim
        if claim.status in Claim.CLOSED_STATES:
            assert claim.closed_at, claim


def test_ops_pages_through_the_queue(client):
    # given: ops signed in
    client.force_login(User.objects.get(username="ops"))
    # when: the queue's first page and the next one
    first = client.get(reverse("claims:list"))
    assert first.status_code == 200
    rows = first.context["claims"]
    assert len(rows) == QUEUE_PAGE_SIZE and first.context["next_query"]
    second = client.get(reverse("claims:list") + "?" + first.context["next_query"])
    # then: the next page goes on where the first ended, oldest first
    assert second.status_code == 200
    more = second.context["claims"]
    assert len(more) == QUEUE_PAGE_SIZE
    assert not {c.pk for c in rows} & {c.pk for c in more}
    assert (rows[-1].queued_at, rows[-1].pk) < (more[0].queued_at, more[0].pk)
    # and a state without a queue time (drafts) pages too
    drafts = client.get(reverse("claims:list") + "?status=draft")
    assert drafts.status_code == 200 and drafts.context["next_query"]
    page = client.get(reverse("claims:list") + "?" + drafts.context["next_query"])
    assert page.status_code == 200
    assert not {c.pk for c in page.context["claims"]} & {c.pk for c in drafts.context["claims"]}


def test_seed_demo_again_adds_nothing():
    models = (Claim, PreApplication, SettlementBatch, AuditEvent, Attachment, Qualification)
    counts = [model.objects.count() for model in models]
    call_command("seed_demo", force=True, stdout=io.StringIO())
    assert [model.objects.count() for model in models] == counts


def test_the_demo_invoices_are_read_and_most_match_their_claims(_demo):
    from collections import Counter

    from claims.models import InvoiceCheck
    from claims.services import invoice_check_run

    # (seeded inside this module's transaction: the readings queued on commit run here)
    with override_settings(MEDIA_ROOT=_demo):
        for pk in InvoiceCheck.objects.filter(status="pending").values_list("pk", flat=True):
            invoice_check_run(check_id=pk)
    results = Counter(InvoiceCheck.objects.values_list("result", flat=True))
    assert results["pass"] > results["mismatch"] > 0
    assert set(results) <= {"pass", "mismatch"}
    assert Claim.objects.filter(invoice_check="mismatch", status__in=Claim.QUEUE_STATES).exists()
