"""The invoice check end to end: an invoice uploaded to a claim is read by the task, compared
with the claim and shown to ops, who accept or override fields; it never decides the claim."""

import random
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.utils import timezone

from claims import selectors, services
from claims.invoice_reader.fields import MOTOR_VEHICLE
from claims.invoice_reader.synthetic import invoice_generate, invoice_render
from claims.models import Claim, InvoiceCheck
from dealers.models import Dealer
from programs.models import CorporateAccount
from ssa_ops.audit import audit_events_for
from ssa_ops.roles import Role
from ssa_ops.validation import vin_check_digit
from tests.claims.factories import approved_account

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _company_invoice(seed=1):
    """A synthetic motor-vehicle invoice sold to a company (the fleet program's customer)."""
    for attempt in range(seed, seed + 50):
        invoice = invoice_generate(random.Random(attempt), MOTOR_VEHICLE)
        if not invoice.truth["buyer_id"][:17].isdigit():
            return invoice, attempt
    raise AssertionError("no company invoice in 50 seeds")


def _claim_for(setting, invoice, *, account=None, **changes):
    """A draft claim saying what the invoice says (the dealer being its seller), but for
    `changes`."""
    truth = invoice.truth
    dealer = setting.dealer_user.dealer
    Dealer.objects.filter(pk=dealer.pk).update(
        legal_entity=truth["seller_name"], credit_code=truth["seller_id"]
    )
    account = account or setting.account
    CorporateAccount.objects.filter(pk=account.pk).update(credit_code=truth["buyer_id"])
    values = {
        "vin": truth["vin"],
        "invoice_number": truth["invoice_number"],
        "invoice_date": truth["issue_date"],
        "invoice_amount": truth["total_amount"],
        "buyer_name": truth["buyer_name"],
        "delivery_date": truth["issue_date"],
        "corporate_account": account.pk,
        **changes,
    }
    return setting.claim(documents=False, **values)


def _upload(claim, user, file):
    upload = SimpleUploadedFile(file.filename, file.data)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.claim_documents_add(actor=user, pk=claim.pk, purpose="invoice", documents=[upload])
    return InvoiceCheck.objects.get(claim=claim, attachment__original_name=file.filename)


def _ofd(invoice, seed):
    return invoice_render(invoice, "ofd", random.Random(seed))


def _other_vin(vin: str) -> str:
    """The VIN with one serial character changed (and a valid check digit)."""
    changed = vin[:-1] + ("1" if vin[-1] != "1" else "2")
    return changed[:8] + vin_check_digit(changed) + changed[9:]


def test_an_uploaded_invoice_is_read_and_matches_its_claim(setting):
    invoice, seed = _company_invoice()
    claim = _claim_for(setting, invoice)
    check = _upload(claim, setting.dealer_user, _ofd(invoice, seed))
    assert check.status == InvoiceCheck.Status.READ
    assert check.result == "pass"
    assert check.engine.startswith("ofd")
    claim.refresh_from_db()
    assert claim.invoice_check == "pass"
    (shown,) = selectors.invoice_checks_for(claim)
    compared = {row["name"]: row["result"] for row in shown.rows if row["compared"]}
    assert compared == dict.fromkeys(
        [
            "invoice_number",
            "issue_date",
            "buyer_name",
            "buyer_id",
            "seller_name",
            "seller_id",
            "vin",
            "total_amount",
        ],
        "match",
    )
    # reading it again (the task delivered twice) changes nothing
    from claims.tasks import read_invoice_document

    assert read_invoice_document.delay(check.pk).get() == "pass"
    assert InvoiceCheck.objects.get(pk=check.pk).read_at == check.read_at


@pytest.mark.parametrize("change", ["vin", "total"])
def test_one_vin_character_or_one_cent_is_never_a_match(setting, change):
    invoice, seed = _company_invoice(seed=7)
    truth = invoice.truth
    if change == "vin":
        claim = _claim_for(setting, invoice, vin=_other_vin(truth["vin"]))
        field = "vin"
    else:
        total = Decimal(truth["total_amount"]) + Decimal("0.01")
        claim = _claim_for(setting, invoice, invoice_amount=str(total))
        field = "total_amount"
    check = _upload(claim, setting.dealer_user, _ofd(invoice, seed))
    assert check.comparison["fields"][field]["result"] == "mismatch"
    assert check.result == "mismatch"
    claim.refresh_from_db()
    assert claim.invoice_check == "mismatch"
    # the claim itself is not decided by the check
    assert claim.status == Claim.Status.DRAFT


def test_ops_accept_or_override_a_field_with_a_reason_audited(setting):
    invoice, seed = _company_invoice(seed=11)
    claim = _claim_for(setting, invoice, vin=_other_vin(invoice.truth["vin"]))
    check = _upload(claim, setting.dealer_user, _ofd(invoice, seed))
    # an override needs a reason, and a dealer may not review
    from django.core.exceptions import ValidationError

    from ssa_ops.errors import PermissionRefused

    with pytest.raises(ValidationError):
        services.invoice_check_review(
            actor=setting.ops, pk=check.pk, field="vin", action="override", value=claim.vin
        )
    with pytest.raises(PermissionRefused):
        services.invoice_check_review(
            actor=setting.dealer_user, pk=check.pk, field="vin", action="accept"
        )
    # ops read the VIN on the paper as the claim's: the field and the check now pass
    check = services.invoice_check_review(
        actor=setting.ops,
        pk=check.pk,
        field="vin",
        action="override",
        value=claim.vin,
        reason="纸质发票上的VIN与申报一致",
    )
    assert check.result == "pass"
    claim.refresh_from_db()
    assert claim.invoice_check == "pass"
    event = audit_events_for(claim).get(action="invoice_override")
    assert event.actor == setting.ops and event.reason == "纸质发票上的VIN与申报一致"
    assert event.changes["field"] == "vin"
    # the dealer then changes the VIN: the review of that field no longer holds
    values = {
        **setting.values(),
        "vin": _other_vin(claim.vin),
        "corporate_account": claim.corporate_account_id,
    }
    values.update(
        invoice_number=claim.invoice_number,
        invoice_date=claim.invoice_date.isoformat(),
        invoice_amount=str(claim.invoice_amount),
        buyer_name=claim.buyer_name,
        delivery_date=claim.delivery_date.isoformat(),
    )
    services.claim_update(actor=setting.dealer_user, pk=claim.pk, values=values)
    check.refresh_from_db()
    assert "vin" not in check.reviews and check.result == "mismatch"


def test_an_unreadable_document_ends_unreadable_and_a_poison_file_stops_being_retried(setting):
    invoice, seed = _company_invoice(seed=3)
    claim = _claim_for(setting, invoice)
    file = _ofd(invoice, seed)
    with TestCase.captureOnCommitCallbacks(execute=False):
        services.claim_documents_add(
            actor=setting.dealer_user,
            pk=claim.pk,
            purpose="invoice",
            documents=[SimpleUploadedFile(file.filename, file.data)],
        )
    check = InvoiceCheck.objects.get(claim=claim)
    assert check.status == InvoiceCheck.Status.PENDING
    claim.refresh_from_db()
    assert claim.invoice_check == "pending"
    # the stored file is damaged: the reading ends "unreadable", with a code
    with check.attachment.file.open("wb") as handle:
        handle.write(b"PK\x03\x04 not an OFD at all")
    assert services.invoice_check_run(check_id=check.pk) == "unreadable"
    check.refresh_from_db()
    assert check.status == InvoiceCheck.Status.UNREADABLE and check.error
    # read again after a worker died on it three times: ends unreadable, not redelivered
    services.invoice_check_rerun(actor=setting.ops, pk=check.pk)
    InvoiceCheck.objects.filter(pk=check.pk).update(attempts=3)
    assert services.invoice_check_run(check_id=check.pk) == "unreadable"
    check.refresh_from_db()
    assert check.error == "too_many_attempts"


def test_the_invoice_read_on_another_claim_is_flagged_without_naming_another_dealer(
    setting, make_user
):
    invoice, seed = _company_invoice(seed=21)
    first = _claim_for(setting, invoice)
    _upload(first, setting.dealer_user, _ofd(invoice, seed))
    # another dealer's claim carries the same invoice, typed with another number
    other_user = make_user(Role.DEALER)
    other_account = approved_account(dealer_user=other_user, ops=setting.ops)
    truth = invoice.truth
    second = setting.claim(
        documents=False,
        user=other_user,
        corporate_account=other_account.pk,
        invoice_number="TYPED-OTHER",
        invoice_date=truth["issue_date"],
        delivery_date=truth["issue_date"],
    )
    data = _ofd(invoice, seed).data
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.claim_documents_add(
            actor=other_user,
            pk=second.pk,
            purpose="invoice",
            documents=[SimpleUploadedFile("copy.ofd", data)],
        )
    assert selectors.claim_duplicates(claim=second, user=setting.ops)["read"]["visible"] == [
        first.number
    ]
    assert selectors.claim_duplicates(claim=second, user=other_user)["read"] == {
        "visible": [],
        "links": [],
        "elsewhere": 1,
    }


def test_ops_see_the_fields_outlined_and_filter_the_queue_by_the_check(setting, api_login):
    invoice, seed = _company_invoice(seed=31)
    claim = _claim_for(setting, invoice, invoice_amount="1.00")
    check = _upload(claim, setting.dealer_user, _ofd(invoice, seed))
    # (the generated invoice is years old, past the claim window: queued as if submitted)
    Claim.objects.filter(pk=claim.pk).update(status="submitted", queued_at=timezone.now())
    # the detail page: the table of claim vs invoice values, coloured by result
    setting.ops.language = "en"
    setting.ops.save(update_fields=["language"])
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(setting.ops)
    page = client.get(f"/claims/{claim.pk}/").content.decode()
    assert 'id="invoice-check"' in page
    assert 'class="ocr-mismatch" data-field="total_amount"' in page
    assert "Read again" in page
    # the queue filter and the home page count
    listed = client.get("/claims/?invoice_check=mismatch").content.decode()
    assert claim.number in listed
    assert claim.number not in client.get("/claims/?invoice_check=needs_review").content.decode()
    home = client.get("/").content.decode()
    assert 'href="/claims/?invoice_check=mismatch"><div class="n">1</div>' in home
    # the API: the document carries its check; the filter; an override through the API
    api = api_login(setting.ops)
    body = api.get(f"/api/v1/claims/{claim.pk}/").json()
    (document,) = [d for d in body["documents"] if d["purpose"] == "invoice"]
    assert document["invoice_check"]["result"] == "mismatch"
    assert document["invoice_check"]["fields"]["total_amount"] == invoice.truth["total_amount"]
    results = api.get("/api/v1/claims/?invoice_check=mismatch").json()["results"]
    assert [row["invoice_check"] for row in results] == ["mismatch"]
    assert api.get("/api/v1/claims/?invoice_check=nonsense").status_code == 400
    response = api.post(
        f"/api/v1/claims/{claim.pk}/invoice-checks/{check.pk}/review/",
        {"field": "total_amount", "action": "accept"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["invoice_check"] == "pass"
    # a dealer may not review, and another dealer does not see the check at all
    dealer = api_login(setting.dealer_user)
    url = f"/api/v1/claims/{claim.pk}/invoice-checks/{check.pk}/review/"
    assert dealer.post(url, {"field": "vin", "action": "accept"}, format="json").status_code == 403
    assert (
        api.post(
            f"/api/v1/claims/{claim.pk}/invoice-checks/{check.pk + 999}/read-again/"
        ).status_code
        == 404
    )


def test_a_scanned_invoice_is_read_by_ocr_and_shown_with_its_fields_outlined(setting, make_user):
    invoice, seed = _company_invoice(seed=51)
    claim = _claim_for(setting, invoice)
    scan = invoice_render(invoice, "clean", random.Random(seed))
    check = _upload(claim, setting.dealer_user, scan)
    assert check.status == InvoiceCheck.Status.READ
    assert "tesseract" in check.engine
    assert check.comparison["fields"]["invoice_number"]["result"] == "match"
    # the page as read is kept, and the fields' boxes outline it
    (shown,) = selectors.invoice_checks_for(claim)
    boxes = {row["name"]: row["box"] for row in shown.rows}
    assert boxes["invoice_number"].startswith("left:")
    client = Client()
    client.force_login(setting.ops)
    response = client.get(f"/claims/{claim.pk}/invoice-checks/{check.pk}/page.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    # another dealer gets a 404 for the page
    other = Client()
    other.force_login(make_user(Role.DEALER))
    assert other.get(f"/claims/{claim.pk}/invoice-checks/{check.pk}/page.jpg").status_code == 404


@pytest.mark.parametrize("value", ["\x00", "a\ud800", "x" * 501, None, ["list"]])
def test_a_review_with_bad_input_is_a_400_and_changes_nothing(setting, api_login, value):
    import json

    invoice, seed = _company_invoice(seed=61)
    claim = _claim_for(setting, invoice, invoice_amount="1.00")
    check = _upload(claim, setting.dealer_user, _ofd(invoice, seed))
    api = api_login(setting.ops)
    url = f"/api/v1/claims/{claim.pk}/invoice-checks/{check.pk}/review/"
    for body in (
        {"field": "total_amount", "action": "override", "value": value, "reason": "核对"},
        {"field": "total_amount", "action": "override", "value": "1.00", "reason": value},
        {"field": value, "action": "accept"},
        {"field": "total_amount", "action": value},
    ):
        # escaped JSON, so that a lone surrogate reaches the server as such
        response = api.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert "code" in response.json()
    check.refresh_from_db()
    assert check.reviews == {} and check.result == "mismatch"
