import datetime
import io

import numpy
import pytest
from django.utils import timezone
from PIL import Image

from claims import services
from claims.models import Claim
from ssa_ops.roles import Role
from tests.claims.factories import Setting
from tests.e2e.conftest import sign_in, sign_out
from tests.programs.factories import ReasonFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLAIMS_NAV = "nav.sidebar a[href='/claims/']"


def _setting(make_user, language="en", **rule):
    """A dealer user `dealer_e2e`, an ops user `ops_e2e` and a fleet program."""
    return Setting(lambda role: make_user(role, username=f"{role}_e2e", language=language), **rule)


def _png(seed) -> dict:
    """A small PNG whose content differs per seed, as a file chosen in the browser."""
    output = io.BytesIO()
    Image.new("RGB", (40, 30), (seed * 40 % 256, seed * 90 % 256, 7)).save(output, "PNG")
    return {"name": f"scan{seed}.png", "mimeType": "image/png", "buffer": output.getvalue()}


def _ofd_invoice() -> dict:
    """An e-invoice (OFD) of another sale than the claim's: its check finds a mismatch."""
    import random

    from claims.invoice_reader.synthetic import invoice_generate, invoice_render

    rng = random.Random(5)
    file = invoice_render(invoice_generate(rng, "motor_vehicle"), "ofd", rng)
    return {"name": "invoice.ofd", "mimeType": "application/ofd", "buffer": file.data}


def _press(page, selector):
    """Click a button that posts a form, and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def test_a_claim_from_filing_through_a_reset_to_approval(page, make_user):
    # given a dealer, ops and a program whose claims need an invoice and a licence
    # (the reason first: reason labels are cached once read)
    ReasonFactory(code="DOC_MISSING", label_en="Document missing", applies_to=["claims.claim"])
    setting = _setting(make_user, documents=("invoice", "licence"))
    values = setting.values()

    # when the dealer files a claim through the form
    sign_in(page, "dealer_e2e")
    page.click(CLAIMS_NAV)
    page.click("#claim-new")
    # the support amount comes from the program's rule: nobody types it
    assert page.locator("#claim-form [name*=support]").count() == 0
    page.select_option("#id_program", str(values["program"]))
    page.select_option("#id_corporate_account", str(values["corporate_account"]))
    for name in (
        "vin",
        "vehicle_model",
        "invoice_number",
        "invoice_date",
        "invoice_amount",
        "buyer_name",
        "delivery_date",
    ):
        page.fill(f"#id_{name}", str(values[name]))
    _press(page, "#claim-form button[type=submit]")
    number = page.inner_text("h1").split(" ")[0]
    assert page.inner_text("#claim-status") == "Draft"
    assert page.inner_text("#support-amount") == "8000.00 CNY"
    assert page.locator("#support-amount input").count() == 0
    assert page.inner_text("#documents-missing") == "Documents missing: Invoice, Licence"

    # and may not submit it yet: no submit button, and the list says what is missing
    assert page.locator("form.workflow-action button").all_inner_texts() == ["Withdraw"]

    # when they upload the documents one by one, the list shrinks
    page.select_option("#id_purpose", "invoice")
    page.set_input_files("#id_documents", _ofd_invoice())
    _press(page, "#documents-form button[type=submit]")
    assert page.inner_text("#documents-missing") == "Documents missing: Licence"
    # the invoice was read and compared with the claim: it is another sale's
    assert "OCR mismatch" in page.inner_text("#invoice-check h3")
    assert page.locator("#invoice-check tr.ocr-mismatch[data-field=vin]").count() == 1
    assert page.locator("#submit-button").count() == 0
    page.select_option("#id_purpose", "licence")
    page.set_input_files("#id_documents", _png(2))
    _press(page, "#documents-form button[type=submit]")
    assert page.locator("#attachments li.attachment").count() == 2
    assert page.locator("#documents-missing").count() == 0

    # and submit
    _press(page, "#submit-button")
    # then the claim is submitted
    assert page.inner_text("#claim-status") == "Submitted"
    sign_out(page)

    # given it has waited three working days
    claim = Claim.objects.get()
    three_working_days_ago = numpy.busday_offset(timezone.localdate(), -3, roll="backward")
    waiting_since = datetime.datetime.combine(
        three_working_days_ago.astype(datetime.date), datetime.time(10)
    )
    Claim.objects.filter(pk=claim.pk).update(queued_at=timezone.make_aware(waiting_since))

    # when ops open the queue, they see it with its age
    sign_in(page, "ops_e2e")
    page.click(CLAIMS_NAV)
    assert page.inner_text("h1") == "Claims queue"
    row = page.locator("#claims tbody tr", has_text=number)
    assert row.locator(".badge.sla").inner_text() == "3 working days"
    assert "due-soon" in row.locator(".badge.sla").get_attribute("class")
    assert row.locator(".badge.submitted").inner_text() == "Submitted"

    # and take the next claim: it opens, picked up by them
    page.click("#take-next")
    page.wait_for_url(f"**/claims/{claim.pk}/")
    assert page.inner_text("#claim-status") == "In review"
    # the invoice check is flagged at the top, and ops may accept a field of it
    assert "OCR mismatch" in page.inner_text("#flag-invoice-check")
    assert page.locator("#invoice-check tr[data-field=vin] button[value=accept]").count() == 1

    # and reset it to the dealer with a coded reason and a comment
    page.select_option("#reasons-reset", "DOC_MISSING")
    page.fill("#reason-reset", "The licence scan is cut off")
    _press(page, "#reset-button")
    assert page.inner_text("#claim-status") == "Reset to dealer"
    sign_out(page)

    # then the dealer sees the reset first, with what to fix
    sign_in(page, "dealer_e2e")
    page.click(CLAIMS_NAV)
    assert f"{number} · reset to you: answer by" in page.inner_text("#todo")
    page.click(f"#todo >> text={number}")
    reset_note = page.inner_text("#reset-reasons")
    assert "Document missing — The licence scan is cut off" in reset_note

    # when the dealer edits the claim and resubmits it
    page.click("#claim-edit")
    page.fill("#id_buyer_name", "华东物流集团有限公司")
    _press(page, "#claim-form button[type=submit]")
    page.set_input_files("#id_documents", _png(3))
    page.select_option("#id_purpose", "licence")
    _press(page, "#documents-form button[type=submit]")
    _press(page, "#resubmit-button")
    assert page.inner_text("#claim-status") == "Resubmitted"
    sign_out(page)

    # and ops take it next again and approve it
    sign_in(page, "ops_e2e")
    page.click(CLAIMS_NAV)
    page.click("#take-next")
    page.wait_for_url(f"**/claims/{claim.pk}/")
    _press(page, "#approve-button")
    assert page.inner_text("#claim-status") == "Approved"
    assert page.locator("form.workflow-action").count() == 0

    # then the timeline shows every step with who took it
    steps = [
        " ".join(item.split())
        for item in page.locator("#timeline ul.timeline > li > div:first-child").all_inner_texts()
    ]
    assert steps == [
        "ops_e2e · approved In review → Approved",
        "ops_e2e · picked up Resubmitted → In review",
        "dealer_e2e · resubmitted Reset to dealer → Resubmitted",
        "dealer_e2e · document added",
        "dealer_e2e · edited",
        "ops_e2e · reset In review → Reset to dealer",
        "ops_e2e · picked up Submitted → In review",
        "dealer_e2e · submitted Draft → Submitted",
        "dealer_e2e · document added",
        "dealer_e2e · document added",
        "dealer_e2e · created — → Draft",
    ]
    assert "Document missing — The licence scan is cut off" in page.inner_text("#timeline")
    sign_out(page)

    # and another dealer cannot open the claim
    make_user(Role.DEALER, username="dealer_other", language="en")
    sign_in(page, "dealer_other")
    response = page.goto(f"{page.base_url}/claims/{claim.pk}/")
    assert response.status == 404
    assert page.inner_text("main h1") == "Not found"
    assert number not in page.content()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.APPROVED


def test_bulk_approval_reports_what_was_decided_and_what_was_skipped_and_why(page, make_user):
    # given four waiting claims, one of which the ops user filed themselves
    setting = _setting(make_user)
    claims = [setting.claim(submit=True) for _ in range(4)]
    Claim.objects.filter(pk=claims[3].pk).update(created_by=setting.ops)
    colleague = make_user(Role.OPS, username="ops_colleague", language="en")

    # when ops tick all four in the queue
    sign_in(page, "ops_e2e")
    page.click(CLAIMS_NAV)
    for claim in claims:
        page.check(f"#claims input[name=ids][value='{claim.pk}']")
    # and a colleague approves one of them meanwhile
    services.claim_pick_up(actor=colleague, pk=claims[1].pk)
    services.claim_approve(actor=colleague, pk=claims[1].pk)
    # and ops approve the ticked claims, confirming
    page.select_option("#bulk-actions select[name=decision]", "approve")
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    _press(page, "#bulk-submit")

    # then they were asked first, and the queue reports two decided and two skipped with why
    assert dialogs == ["Decide every selected claim?"]
    assert page.inner_text(".messages .success") == "2 claims decided, 2 skipped."
    assert page.locator(".messages .warning").all_inner_texts() == [
        f"{claims[1].number}: Not possible now: this record is Approved.",
        f"{claims[3].number}: You filed this; another colleague must decide it.",
    ]
    statuses = dict(Claim.objects.values_list("pk", "status"))
    assert [statuses[claim.pk] for claim in claims] == [
        Claim.Status.APPROVED,
        Claim.Status.APPROVED,
        Claim.Status.APPROVED,
        Claim.Status.SUBMITTED,
    ]
    # only the one they filed still waits; the colleague's approval stands
    assert claims[3].number in page.inner_text("#claims tbody tr")
    assert page.locator("#claims tbody tr").count() == 1
    claims[1].refresh_from_db()
    assert claims[1].decided_by == colleague


def test_a_chinese_speaking_ops_user_previews_and_decides_in_chinese(page, make_user):
    # given ops whose language is Chinese, and two waiting claims, one filed by them
    setting = _setting(make_user, language="zh-hans")
    claims = [setting.claim(submit=True) for _ in range(2)]
    Claim.objects.filter(pk=claims[1].pk).update(created_by=setting.ops)

    # when they open the queue
    sign_in(page, "ops_e2e")
    page.click(CLAIMS_NAV)
    # then the page speaks Chinese
    assert page.inner_text("h1") == "理赔队列"
    assert page.inner_text("#take-next") == "处理下一条"
    row = page.locator("#claims tbody tr", has_text=claims[0].number)
    assert row.locator(".badge.submitted").inner_text() == "已提交"
    assert row.locator(".badge.sla").inner_text() == "0 个工作日"
    assert "勾选的理赔" in page.inner_text("#bulk-actions")

    # when they tick every claim on the page and preview an approval
    page.check("#select-all")
    _press(page, "#bulk-preview")
    # then the preview, in Chinese, says what would be decided and what skipped and why
    assert page.inner_text("h1") == "批量处理预览"
    assert "批准：已选 2 笔理赔，其中 1 笔现在可以处理。" in page.inner_text(
        "#bulk-preview-summary"
    )
    assert page.locator("#bulk-skipped tbody tr").all_inner_texts() == [
        f"这是您提交的，须由其他同事审批。\t1\t{claims[1].number}"
    ]
    assert Claim.objects.filter(status=Claim.Status.SUBMITTED).count() == 2

    # when they confirm
    assert page.inner_text("#bulk-confirm") == "处理 1 笔理赔"
    _press(page, "#bulk-confirm")
    # then they are told in Chinese
    assert page.inner_text(".messages .success") == "已处理 1 笔理赔，跳过 1 笔。"
    assert page.locator(".messages .warning").all_inner_texts() == [
        f"{claims[1].number}: 这是您提交的，须由其他同事审批。"
    ]
    statuses = dict(Claim.objects.values_list("pk", "status"))
    assert [statuses[claim.pk] for claim in claims] == [
        Claim.Status.APPROVED,
        Claim.Status.SUBMITTED,
    ]
