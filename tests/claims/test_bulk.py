import pytest

from claims import services
from claims.models import Claim
from ssa_ops.audit import audit_events_for
from ssa_ops.jobs import job_error_rows
from ssa_ops.models import BackgroundJob
from ssa_ops.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_bulk_approve_decides_each_claim_and_skips_what_changed(setting):
    # given three waiting claims, one of which another user already decided
    claims = [setting.claim(submit=True) for _ in range(3)]
    other_ops = setting.ops.__class__.objects.get(pk=setting.ops.pk)
    services.claim_pick_up(actor=other_ops, pk=claims[2].pk)
    services.claim_approve(actor=other_ops, pk=claims[2].pk)
    # when ops approve all three at once
    decided, skipped, job = services.claims_bulk_start(
        actor=setting.ops, claim_ids=[c.pk for c in claims], decision="approve"
    )
    # then two are approved (picked up, then approved, each audited) and one skipped with why
    assert job is None
    assert decided == [claims[0].number, claims[1].number]
    assert [(row["record"], row["code"]) for row in skipped] == [
        (claims[2].number, "transition_not_allowed")
    ]
    for claim in claims[:2]:
        claim.refresh_from_db()
        assert claim.status == Claim.Status.APPROVED
        actions = list(audit_events_for(claim).values_list("action", flat=True))
        assert actions[:2] == ["approve", "pick_up"]
    assert audit_events_for(claims[2]).filter(action="approve").count() == 1


def test_bulk_reject_needs_reasons_and_changes_nothing_without(setting, reasons):
    claim = setting.claim(submit=True)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.claims_bulk_start(actor=setting.ops, claim_ids=[claim.pk], decision="reject")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED


def test_bulk_sees_only_the_users_claims(setting, make_user):
    claim = setting.claim(submit=True)
    region_user = make_user(Role.REGION_MANAGER)
    from ssa_ops.errors import PermissionRefused

    with pytest.raises(PermissionRefused):
        services.claims_bulk_start(actor=region_user, claim_ids=[claim.pk], decision="approve")


def test_over_the_inline_limit_it_runs_as_a_job_with_a_summary(setting, reasons, monkeypatch):
    monkeypatch.setattr("claims.services.bulk.BULK_INLINE_LIMIT", 2)
    claims = [setting.claim(submit=True) for _ in range(3)]
    Claim.objects.filter(pk=claims[1].pk).update(status=Claim.Status.APPROVED)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        _, _, job = services.claims_bulk_start(
            actor=setting.ops,
            claim_ids=[c.pk for c in claims],
            decision="reset",
            reasons=["DOC_MISSING"],
            reason="盖章页",
        )
    job = BackgroundJob.objects.get(pk=job.pk)
    assert job.status == BackgroundJob.Status.SUCCEEDED
    assert job.summary == {"done": 2, "skipped": 1}
    rows = job_error_rows(job)
    assert [row["record"] for row in rows] == [claims[1].number]
    assert rows[0]["message"] == "Not possible now: this record is Approved."
    assert Claim.objects.filter(status=Claim.Status.RESET).count() == 2


def test_bulk_api(setting, api_login, reasons):
    claims = [setting.claim(submit=True) for _ in range(2)]
    client = api_login(setting.ops)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(
        "/api/v1/claims/bulk/",
        {"decision": "reject", "ids": [c.pk for c in claims], "reasons": ["NOT_ELIGIBLE"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"decided": [c.number for c in claims], "skipped": []}
    dealer = api_login(setting.dealer_user)
    response = dealer.post(
        "/api/v1/claims/bulk/", {"decision": "approve", "ids": [claims[0].pk]}, format="json"
    )
    assert response.status_code == 403


def test_a_selection_of_many_ids_is_read_in_bounded_chunks(setting):
    claim = setting.claim(submit=True)
    ids = [claim.pk, *range(10**6, 10**6 + 40_000)]
    decided, skipped, job = services.claims_bulk_start(
        actor=setting.ops, claim_ids=ids, decision="approve"
    )
    assert (decided, skipped, job) == ([claim.number], [], None)


def test_a_decision_on_the_filter_is_previewed_and_decides_only_what_was_previewed(
    setting, page_client
):
    # given three submitted claims of the program, one filed by the ops user themselves
    claims = [setting.claim(submit=True) for _ in range(3)]
    Claim.objects.filter(pk=claims[2].pk).update(created_by=setting.ops)
    listed = f"status=submitted&program={claims[0].program_id}"
    client = page_client(setting.ops)
    # when ops choose "every claim matching the filters"
    response = client.post(
        "/claims/bulk/", {"scope": "filter", "filter": listed, "decision": "approve"}
    )
    # then they see a preview: two can be decided, one skipped and why; nothing changed yet
    page = response.content.decode()
    assert response.status_code == 200
    assert "Approve: 3 claims chosen, 2 can be decided now." in page
    assert claims[2].number in page and "own" in page.lower()
    assert Claim.objects.filter(status=Claim.Status.SUBMITTED).count() == 3
    upto = response.context["upto"]
    assert upto == claims[2].pk
    # and a claim submitted after the preview is not decided unseen
    late = setting.claim(submit=True)
    response = client.post(
        "/claims/bulk/",
        {
            "scope": "filter",
            "filter": listed,
            "decision": "approve",
            "step": "confirm",
            "upto": str(upto),
        },
    )
    assert response.status_code == 302
    assert response.url == "/claims/?" + listed
    statuses = dict(Claim.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in [*claims, late]] == [
        Claim.Status.APPROVED,
        Claim.Status.APPROVED,
        Claim.Status.SUBMITTED,
        Claim.Status.SUBMITTED,
    ]


def test_preview_of_ticked_claims_changes_nothing_and_asks_reasons_first(
    setting, reasons, page_client
):
    claims = [setting.claim(submit=True) for _ in range(2)]
    client = page_client(setting.ops)
    ticked = {"ids": [c.pk for c in claims], "decision": "reject", "step": "preview"}
    response = client.post("/claims/bulk/", ticked, follow=True)
    assert "Choose at least one reason" in response.content.decode()
    response = client.post("/claims/bulk/", {**ticked, "reasons": ["NOT_ELIGIBLE"]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Reject: 2 claims chosen, 2 can be decided now." in page
    assert 'name="reasons" value="NOT_ELIGIBLE"' in page
    assert Claim.objects.filter(status=Claim.Status.SUBMITTED).count() == 2


def test_a_filter_matching_nothing_says_so(setting, page_client):
    setting.claim(submit=True)
    client = page_client(setting.ops)
    response = client.post(
        "/claims/bulk/",
        {"scope": "filter", "filter": "status=settled", "decision": "approve"},
        follow=True,
    )
    assert "No claim matches these filters." in response.content.decode()


def test_bulk_api_preview_changes_nothing(setting, api_login):
    claims = [setting.claim(submit=True) for _ in range(2)]
    Claim.objects.filter(pk=claims[1].pk).update(status=Claim.Status.APPROVED)
    client = api_login(setting.ops)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(
        "/api/v1/claims/bulk/",
        {"decision": "approve", "ids": [c.pk for c in claims], "preview": True},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "total": 2,
        "decide": 1,
        "skipped": [
            {
                "code": "transition_not_allowed",
                "message": "Not possible now: this record is Approved.",
                "count": 1,
                "records": [claims[1].number],
            }
        ],
    }
    assert Claim.objects.get(pk=claims[0].pk).status == Claim.Status.SUBMITTED


def test_a_bulk_decision_tells_each_dealer_once_not_once_per_claim(setting, reasons, make_user):
    from ssa_ops.models import OutboundEmail
    from tests.claims.test_services import _special_sales_contact

    make_user(Role.DEALER, email="en@dealer.example.com", language="en")
    _special_sales_contact(setting.dealer_user.dealer, email="en@dealer.example.com")
    claims = [setting.claim(submit=True) for _ in range(3)]
    decided, skipped, _job = services.claims_bulk_start(
        actor=setting.ops,
        claim_ids=[c.pk for c in claims],
        decision="reset",
        reasons=["DOC_MISSING"],
        reason="盖章页缺失",
    )
    assert len(decided) == 3 and not skipped
    assert not OutboundEmail.objects.filter(template="claims_record_status").exists()
    (email,) = OutboundEmail.objects.filter(template="claims_bulk_decided")
    assert email.to == ["en@dealer.example.com"] and email.language == "en"
    assert email.subject == "3 claims: Reset to dealer"
    assert ", ".join(c.number for c in claims) in email.body_text
    assert "盖章页缺失" in email.body_text


def test_claims_are_decided_in_batches_each_on_its_own(setting, reasons, monkeypatch):
    # given five claims in batches of two: waiting, approved meanwhile, waiting, gone, in review
    monkeypatch.setattr("claims.services.bulk.BULK_BATCH", 2)
    claims = [setting.claim(submit=True) for _ in range(4)]
    services.claim_pick_up(actor=setting.ops, pk=claims[1].pk)
    services.claim_approve(actor=setting.ops, pk=claims[1].pk)
    services.claim_pick_up(actor=setting.ops, pk=claims[3].pk)
    gone = claims[3].pk + 1000
    ids = [claims[0].pk, claims[1].pk, claims[2].pk, gone, claims[3].pk]
    steps = []
    # when they are rejected together
    decided, skipped = services.claims_bulk_decide(
        actor=setting.ops,
        claim_ids=ids,
        decision="reject",
        reasons=["NOT_ELIGIBLE"],
        progress=lambda done, total: steps.append((done, total)),
    )
    # then a claim refused or gone does not hold back the others of its batch
    assert decided == [claims[0].number, claims[2].number, claims[3].number]
    assert [(row["record"], row["code"]) for row in skipped] == [
        (claims[1].number, "transition_not_allowed"),
        (f"CL-{gone:07d}", "not_found"),
    ]
    assert steps == [(2, 5), (4, 5), (5, 5)]
    states = dict(Claim.objects.values_list("pk", "status"))
    assert [states[c.pk] for c in claims] == ["rejected", "approved", "rejected", "rejected"]
    # and each is audited as one decision: picked up first where it waited, with its reason
    first = list(audit_events_for(claims[0]).values_list("action", "reason_codes"))
    assert first[:2] == [("reject", ["NOT_ELIGIBLE"]), ("pick_up", [])]
    assert audit_events_for(claims[1]).filter(action="reject").count() == 0
    assert audit_events_for(claims[3]).filter(action="pick_up").count() == 1


def test_a_long_bulk_decision_tells_dealers_as_it_goes(setting, make_user, monkeypatch):
    # given dealers are told once every two decided claims, and three claims decided one by one
    from ssa_ops.models import OutboundEmail
    from tests.claims.test_services import _special_sales_contact

    monkeypatch.setattr("claims.services.bulk.BULK_BATCH", 1)
    monkeypatch.setattr("claims.services.bulk.BULK_NOTIFY_EVERY", 2)
    _special_sales_contact(setting.dealer_user.dealer, email="sales@dealer.example.com")
    claims = [setting.claim(submit=True) for _ in range(3)]
    # when they are approved together
    decided, _skipped = services.claims_bulk_decide(
        actor=setting.ops, claim_ids=[c.pk for c in claims], decision="approve"
    )
    # then the dealer hears of the first two, then of the last, never of one claim twice
    assert len(decided) == 3
    emails = OutboundEmail.objects.filter(template="claims_bulk_decided").order_by("pk")
    told = [[c.number for c in claims if c.number in e.body_text] for e in emails]
    assert told == [[claims[0].number, claims[1].number], [claims[2].number]]
