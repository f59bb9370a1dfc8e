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
