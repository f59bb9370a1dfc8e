import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims import selectors, services
from claims.models import Claim
from claims.selectors import QueueFilters, claim_queue, keyset_page
from ssa_ops.roles import Role
from tests.claims.factories import approved_account, document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_each_dealer_sees_only_its_own_claims(setting, make_user):
    # given a claim of dealer 1 and one of dealer 2
    other_user = make_user(Role.DEALER)
    other_account = approved_account(dealer_user=other_user, ops=setting.ops)
    mine = setting.claim(documents=False)
    theirs = setting.claim(documents=False, user=other_user, corporate_account=other_account.pk)
    # then each dealer sees its own, ops both, the vendor none
    assert list(selectors.claim_list(user=setting.dealer_user)) == [mine]
    assert list(selectors.claim_list(user=other_user)) == [theirs]
    assert set(selectors.claim_list(user=setting.ops)) == {mine, theirs}
    assert not selectors.claim_list(user=make_user(Role.VENDOR)).exists()
    # and a region manager those of its regions
    region_user = make_user(Role.REGION_MANAGER, regions=[other_user.dealer.region])
    assert list(selectors.claim_list(user=region_user)) == [theirs]


def test_duplicate_flags_never_name_another_dealers_claim(setting, make_user):
    other_user = make_user(Role.DEALER)
    other_account = approved_account(dealer_user=other_user, ops=setting.ops)
    mine = setting.claim(documents=False, invoice_number="SAME-1")
    theirs = setting.claim(
        documents=False,
        user=other_user,
        corporate_account=other_account.pk,
        invoice_number="SAME-1",
    )
    for claim, user in ((mine, setting.dealer_user), (theirs, other_user)):
        services.claim_documents_add(
            actor=user, pk=claim.pk, purpose="invoice", documents=[document(9)]
        )
    seen_by_dealer = selectors.claim_duplicates(claim=mine, user=setting.dealer_user)
    assert seen_by_dealer == {
        "invoice": {"visible": [], "links": [], "elsewhere": 1},
        "document": {"visible": [], "links": [], "elsewhere": 1},
        "read": {"visible": [], "links": [], "elsewhere": 0},
    }
    seen_by_ops = selectors.claim_duplicates(claim=mine, user=setting.ops)
    assert seen_by_ops["invoice"] == {
        "visible": [theirs.number],
        "links": [{"number": theirs.number, "id": theirs.pk}],
        "elsewhere": 0,
    }


def test_the_queue_filters(setting, make_user):
    waiting = setting.claim(submit=True)
    mine = setting.claim(submit=True)
    services.claim_pick_up(actor=setting.ops, pk=mine.pk)
    setting.claim(documents=False)  # a draft is not in the queue
    flagged = setting.claim(submit=True, invoice_number="DUP")
    setting.claim(documents=False, invoice_number="DUP")
    Claim.objects.filter(pk=waiting.pk).update(
        queued_at=timezone.now() - datetime.timedelta(days=10)
    )
    ops = setting.ops

    def numbers(**filters):
        return [c.pk for c in claim_queue(user=ops, filters=QueueFilters(**filters))]

    assert numbers() == [waiting.pk, mine.pk, flagged.pk]
    assert numbers(status="in_review") == [mine.pk]
    assert numbers(assigned_to_me=True) == [mine.pk]
    assert numbers(flagged=True) == [flagged.pk]
    assert numbers(older_than_days=5) == [waiting.pk]
    assert numbers(program=setting.program.pk) == [waiting.pk, mine.pk, flagged.pk]
    assert numbers(region=setting.dealer_user.dealer.region_id) == [waiting.pk, mine.pk, flagged.pk]
    assert numbers(dealer=0) == [waiting.pk, mine.pk, flagged.pk]
    sorted_by_number = claim_queue(user=ops, sort="-number")
    assert [c.pk for c in sorted_by_number] == [flagged.pk, mine.pk, waiting.pk]


def test_keyset_pages_cover_the_queue_once_with_constant_queries(setting):
    claims = [setting.claim(submit=True) for _ in range(7)]
    # every page: one query whatever its size, no COUNT
    keyset_page(claim_queue(user=setting.ops), size=1)  # the user's role and permissions, once
    pages, after = [], None
    while True:
        with CaptureQueriesContext(connection) as queries:
            rows, after = keyset_page(claim_queue(user=setting.ops), after=after, size=3)
            [(c.dealer.code, c.program.code, c.vehicle_model.code) for c in rows]
        assert len(queries) == 1, [q["sql"] for q in queries]
        assert not any("COUNT(" in q["sql"].upper() for q in queries)
        pages.append([c.pk for c in rows])
        if after is None:
            break
    assert pages == [[c.pk for c in claims[i : i + 3]] for i in (0, 3, 6)]
    descending, _last = keyset_page(claim_queue(user=setting.ops, sort="-waiting"), size=4)
    following, _ = keyset_page(claim_queue(user=setting.ops, sort="-waiting"), after=_last)
    assert [c.pk for c in descending + following] == [c.pk for c in reversed(claims)]


def test_query_count_does_not_grow_with_the_page_size(setting):
    for _ in range(6):
        setting.claim(submit=True)
    keyset_page(claim_queue(user=setting.ops), size=1)  # the user's role and permissions, once
    counts = []
    for size in (2, 6):
        with CaptureQueriesContext(connection) as queries:
            rows, _ = keyset_page(claim_queue(user=setting.ops), size=size)
            [(c.dealer.code, c.program.code, c.vehicle_model.code, c.assigned_to) for c in rows]
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_take_next_skips_the_users_own_and_returns_none_for_dealers(setting):
    setting.claim(submit=True)
    assert selectors.claim_next_for(user=setting.dealer_user) is None
    assert selectors.claim_next_for(user=setting.ops) is not None


def test_an_exact_identifier_finds_the_claim_in_any_state(setting, make_user):
    draft = setting.claim(documents=False, invoice_number="FP-2026-1")
    waiting = setting.claim(submit=True)
    ops = setting.ops

    def found(query):
        return [c.pk for c in claim_queue(user=ops, filters=QueueFilters(query=query))]

    assert found(draft.number) == [draft.pk]
    assert found(draft.vin.lower()) == [draft.pk]
    assert found("fp-2026-1") == [draft.pk]
    assert found(waiting.number) == [waiting.pk]
    assert found("NOPE") == []
    # another dealer finds nothing of this dealer's
    other = make_user(Role.DEALER)
    assert [c.pk for c in claim_queue(user=other, filters=QueueFilters(query=draft.vin))] == []


def test_state_counts_follow_the_filters_and_are_capped(setting, monkeypatch):
    from claims import selectors as claim_selectors

    for _ in range(3):
        setting.claim(submit=True)
    flagged = setting.claim(submit=True, invoice_number="TWICE")
    setting.claim(documents=False, invoice_number="TWICE")
    services.claim_pick_up(actor=setting.ops, pk=flagged.pk)
    counts = claim_selectors.claim_state_counts(
        user=setting.ops, filters=QueueFilters(), states=["submitted", "in_review"]
    )
    assert counts == [("submitted", 3, False), ("in_review", 1, False)]
    flagged_only = claim_selectors.claim_state_counts(
        user=setting.ops, filters=QueueFilters(flagged=True), states=["submitted", "in_review"]
    )
    assert flagged_only == [("submitted", 0, False), ("in_review", 1, False)]
    monkeypatch.setattr(claim_selectors, "COUNT_CAP", 2)
    capped = claim_selectors.claim_state_counts(
        user=setting.ops, filters=QueueFilters(), states=["submitted"]
    )
    assert capped == [("submitted", 2, True)]
