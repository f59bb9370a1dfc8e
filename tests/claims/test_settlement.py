import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.test import TestCase
from django.utils import timezone

from claims import selectors, services
from claims.models import Claim, SettlementBatch
from ssa_ops.errors import ApplicationError, PermissionRefused, TransitionNotAllowed
from ssa_ops.models import BackgroundJob
from ssa_ops.roles import Role
from tests.claims.factories import approved_account

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

LAST_MONTH_END = timezone.localtime().replace(
    day=1, hour=12, minute=0, second=0, microsecond=0
) - datetime.timedelta(days=1)


def _approved(setting, *, user=None, decided_at=LAST_MONTH_END, **values):
    claim = setting.claim(submit=True, user=user, **values)
    services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    services.claim_approve(actor=setting.ops, pk=claim.pk)
    Claim.objects.filter(pk=claim.pk).update(decided_at=decided_at)
    return claim


def test_the_months_approved_claims_are_settled_per_dealer(setting, make_user):
    # given two approved claims of last month, one of this month, and one of another dealer
    lead = make_user(Role.OPS_LEAD)
    other = make_user(Role.DEALER)
    account = approved_account(dealer_user=other, ops=setting.ops)
    first, second = _approved(setting), _approved(setting)
    this_month = _approved(setting, decided_at=timezone.now())
    theirs = _approved(setting, user=other, corporate_account=account.pk)
    # when last month is settled
    batches = services.settlement_run(actor=lead, month=LAST_MONTH_END.date())
    # then one batch per dealer with its totals, and the month's claims are settled and final
    assert len(batches) == 2
    mine = SettlementBatch.objects.get(dealer=setting.dealer_user.dealer)
    assert (mine.claim_count, mine.total_support) == (2, Decimal("16000.00"))
    for claim in (first, second, theirs):
        claim.refresh_from_db()
        assert claim.status == Claim.Status.SETTLED and claim.settlement is not None
    this_month.refresh_from_db()
    assert this_month.status == Claim.Status.APPROVED
    with pytest.raises(TransitionNotAllowed):
        services.claim_reject(actor=setting.ops, pk=first.pk, reasons=["X"])
    # a second run settles nothing more
    services.settlement_run(actor=lead, month=LAST_MONTH_END.date())
    mine.refresh_from_db()
    assert mine.claim_count == 2
    # each dealer sees only its own batch
    assert list(selectors.settlement_list(user=setting.dealer_user)) == [mine]


def test_only_ops_leads_settle_and_only_ended_months(setting, make_user):
    _approved(setting)
    with pytest.raises(PermissionRefused):
        services.settlement_run(actor=setting.ops, month=LAST_MONTH_END.date())
    with pytest.raises(ApplicationError) as error:
        services.settlement_run(actor=make_user(Role.OPS_LEAD), month=timezone.localdate())
    assert error.value.code == "month_not_ended"
    assert not SettlementBatch.objects.exists()


def test_the_statement_lists_each_claim_and_totals_by_program(setting, make_user):
    claims = [_approved(setting) for _ in range(2)]
    (batch,) = services.settlement_run(actor=make_user(Role.OPS_LEAD), month=LAST_MONTH_END.date())
    sheet = openpyxl.load_workbook(io.BytesIO(services.settlement_statement(batch))).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    numbers = [r[0] for r in rows[3:5]]
    assert numbers == [c.number for c in claims]
    assert rows[-1][:3] == ["Total", 2, 16000.0]
    assert [setting.program.code, 2, 16000.0] in [r[:3] for r in rows]


def test_settlement_api_and_page(setting, make_user, api_login):
    from django.test import Client

    _approved(setting)
    lead = make_user(Role.OPS_LEAD, language="en")
    month = LAST_MONTH_END.date().isoformat()
    # ops may not settle; a lead may
    ops = api_login(setting.ops)
    assert ops.post("/api/v1/settlements/", {"month": month}, format="json").status_code == 403
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_login(lead).post("/api/v1/settlements/", {"month": month}, format="json")
    assert response.status_code == 202, response.json()
    job = api_login(lead).get(f"/api/v1/jobs/{response.json()['job']}/").json()
    assert job["status"] == "succeeded" and job["summary"] == {"dealers": 1, "claims": 1}
    # the job's result is the month's summary: the dealer's batch, totals by program
    summary = openpyxl.load_workbook(io.BytesIO(BackgroundJob.objects.get().result_file.read()))
    dealers = list(summary.worksheets[0].iter_rows(values_only=True))
    assert dealers[1][1:] == (
        setting.dealer_user.dealer.code,
        setting.dealer_user.dealer.name_zh,
        1,
        8000,
    )
    programs = list(summary.worksheets[1].iter_rows(values_only=True))
    assert programs[1:] == [(setting.program.code, 1, 8000)]
    (batch,) = api_login(lead).get("/api/v1/settlements/").json()
    assert batch["claim_count"] == 1 and batch["total_support"] == "8000.00"
    # the dealer lists it and downloads its statement; another dealer gets a 404
    dealer = api_login(setting.dealer_user)
    assert [b["id"] for b in dealer.get("/api/v1/settlements/").json()] == [batch["id"]]
    response = dealer.get(f"/api/v1/settlements/{batch['id']}/statement/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"
    other = api_login(make_user(Role.DEALER))
    assert other.get(f"/api/v1/settlements/{batch['id']}/statement/").status_code == 404
    # the page lists it for the lead
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(lead)
    page = client.get("/claims/settlements/").content.decode()
    assert SettlementBatch.objects.get().number in page and "Settle the month" in page
