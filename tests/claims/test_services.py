import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from claims import services
from claims.models import Claim
from dealers.models import DealerContact
from programs import services as program_services
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import ApplicationError, PermissionRefused, TransitionNotAllowed
from ssa_ops.models import OutboundEmail
from ssa_ops.roles import Role
from tests.claims.factories import document, vin
from tests.programs.factories import rule_values

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_a_claim_is_a_draft_with_the_support_amount_of_the_rule(setting):
    # when the dealer files a claim
    claim = setting.claim(documents=False)
    # then it is a draft whose support is the rule's amount for the model, never typed
    assert claim.status == Claim.Status.DRAFT
    assert claim.support_amount == Decimal("8000.00")
    assert claim.rule == setting.rule
    assert claim.buyer_credit_code == setting.account.credit_code
    assert list(audit_events_for(claim).values_list("action", flat=True)) == ["create"]


def test_the_support_amount_follows_the_rule_version_of_the_invoice_date(setting):
    # given a second rule version from 10 days ago with another amount
    model = setting.model_code
    program_services.program_rule_revise(
        actor=setting.ops,
        program_id=setting.program.pk,
        valid_from=datetime.date.today() - datetime.timedelta(days=10),
        values=rule_values(
            eligible_models=[{"model": model, "amount": "6500.00"}],
            required_documents={"claim": ["invoice"]},
        ),
        allow_past=True,
    )
    today = datetime.date.today()
    # when one invoice is dated before the new version and one after
    before = setting.claim(documents=False, invoice_date=str(today - datetime.timedelta(days=20)))
    after = setting.claim(documents=False, invoice_date=str(today - datetime.timedelta(days=2)))
    # then each has its own version's amount
    assert (before.support_amount, before.rule.version) == (Decimal("8000.00"), 1)
    assert (after.support_amount, after.rule.version) == (Decimal("6500.00"), 2)


def test_a_typed_support_amount_is_ignored(setting):
    claim = setting.claim(documents=False, support_amount="99999.00")
    assert claim.support_amount == Decimal("8000.00")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("vin", "LSVAU2181N2000001", "vin_check"),
        ("vin", "LSVAU218IN2000001", "vin_characters"),
        ("vin", "LSVAU2180N200001", "vin_length"),
        ("buyer_credit_code", "91310000MA1FL0000X", None),
        ("invoice_amount", "-1", None),
        ("invoice_date", "2026-13-01", "invalid_date"),
    ],
)
def test_invalid_values_are_refused_field_by_field(setting, field, value, code):
    with pytest.raises(ValidationError) as error:
        setting.claim(documents=False, **{field: value})
    assert field in error.value.message_dict
    if code:
        assert error.value.error_dict[field][0].code == code
    assert Claim.objects.count() == 0


def test_a_model_outside_the_rule_is_refused(setting):
    with pytest.raises(ValidationError) as error:
        setting.claim(documents=False, vehicle_model="NOPE")
    assert "vehicle_model" in error.value.message_dict


def test_another_dealers_account_is_refused(setting, make_user):
    other = make_user(Role.DEALER)
    with pytest.raises(ValidationError) as error:
        services.claim_create(actor=other, dealer=other.dealer, values=setting.values())
    assert "corporate_account" in error.value.message_dict


def test_submit_lists_the_missing_documents_in_words(make_user):
    from tests.claims.factories import Setting

    setting = Setting(make_user, documents=("invoice", "contract"))
    claim = setting.claim(documents=False)
    services.claim_documents_add(
        actor=setting.dealer_user, pk=claim.pk, purpose="invoice", documents=[document(1)]
    )
    # when the dealer submits without the contract
    with pytest.raises(TransitionNotAllowed) as error:
        services.claim_submit(actor=setting.dealer_user, pk=claim.pk)
    # then it is refused naming the contract, and nothing changed
    assert error.value.code == "documents_missing"
    assert error.value.message == "Documents missing: Contract."
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT
    assert not audit_events_for(claim).filter(action="submit").exists()


def test_a_document_not_on_the_checklist_is_refused(setting):
    claim = setting.claim(documents=False)
    with pytest.raises(ValidationError):
        services.claim_documents_add(
            actor=setting.dealer_user, pk=claim.pk, purpose="selfie", documents=[document(2)]
        )


def test_submit_after_the_claim_window_is_refused(make_user):
    from tests.claims.factories import Setting

    setting = Setting(make_user, claim_window_days=30)
    old = (datetime.date.today() - datetime.timedelta(days=31)).isoformat()
    claim = setting.claim(invoice_date=old)
    with pytest.raises(TransitionNotAllowed) as error:
        services.claim_submit(actor=setting.dealer_user, pk=claim.pk)
    assert error.value.code == "claim_window_passed"
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DRAFT


def _special_sales_contact(dealer, email="sales@dealer.example.com"):
    return DealerContact.objects.create(
        dealer=dealer,
        role=DealerContact.Role.SPECIAL_SALES,
        name="王销售",
        phone="13800000000",
        email=email,
    )


def test_the_whole_way_submit_pick_up_reset_resubmit_approve(setting, reasons):
    _special_sales_contact(setting.dealer_user.dealer)
    claim = setting.claim(submit=True)
    assert claim.status == Claim.Status.SUBMITTED
    claim = services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    assert (claim.status, claim.assigned_to) == (Claim.Status.IN_REVIEW, setting.ops)
    claim = services.claim_reset(
        actor=setting.ops, pk=claim.pk, reasons=["DOC_MISSING"], reason="contract page 2"
    )
    assert claim.status == Claim.Status.RESET
    reset_event = audit_events_for(claim).get(action="reset")
    assert reset_event.reason_codes == ["DOC_MISSING"]
    claim = services.claim_resubmit(actor=setting.dealer_user, pk=claim.pk)
    assert (claim.status, claim.assigned_to) == (Claim.Status.RESUBMITTED, None)
    claim = services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    claim = services.claim_approve(actor=setting.ops, pk=claim.pk)
    assert (claim.status, claim.decided_by) == (Claim.Status.APPROVED, setting.ops)
    # the dealer's special-sales contact heard of the reset and the approval
    emails = OutboundEmail.objects.filter(template="claims_record_status").order_by("pk")
    assert [e.to for e in emails] == [["sales@dealer.example.com"]] * 2
    assert "Reason" in emails[0].body_text or "原因" in emails[0].body_text


def test_the_email_is_in_the_language_of_the_contacts_user(setting, reasons, make_user):
    make_user(Role.DEALER, email="en@dealer.example.com", language="en")
    _special_sales_contact(setting.dealer_user.dealer, email="en@dealer.example.com")
    claim = setting.claim(submit=True)
    services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    services.claim_reject(actor=setting.ops, pk=claim.pk, reasons=["NOT_ELIGIBLE"])
    email = OutboundEmail.objects.get(template="claims_record_status")
    assert email.language == "en"
    assert f"{claim.number}" in email.subject and "Rejected" in email.subject


def test_reset_and_reject_need_a_coded_reason(setting, reasons):
    claim = setting.claim(submit=True)
    services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    with pytest.raises(ValidationError):
        services.claim_reject(actor=setting.ops, pk=claim.pk, reasons=[])
    claim.refresh_from_db()
    assert claim.status == Claim.Status.IN_REVIEW
    assert not OutboundEmail.objects.filter(template="claims_record_status").exists()


def test_a_dealer_cannot_decide_and_ops_cannot_submit(setting, reasons):
    claim = setting.claim()
    with pytest.raises(PermissionRefused):
        services.claim_submit(actor=setting.ops, pk=claim.pk)
    claim = services.claim_submit(actor=setting.dealer_user, pk=claim.pk)
    with pytest.raises(PermissionRefused):
        services.claim_pick_up(actor=setting.dealer_user, pk=claim.pk)


def test_decisions_only_in_review(setting):
    claim = setting.claim(submit=True)
    with pytest.raises(TransitionNotAllowed):
        services.claim_approve(actor=setting.ops, pk=claim.pk)


def test_withdraw_a_draft_frees_its_vin(setting):
    claim = setting.claim(documents=False)
    claim = services.claim_withdraw(actor=setting.dealer_user, pk=claim.pk)
    assert claim.status == Claim.Status.WITHDRAWN
    assert claim.closed_at is not None
    again = setting.claim(documents=False, vin=claim.vin)
    assert again.status == Claim.Status.DRAFT
    with pytest.raises(TransitionNotAllowed):
        services.claim_withdraw(actor=setting.dealer_user, pk=claim.pk)


def test_a_vin_with_a_live_claim_cannot_be_claimed_again_by_any_dealer(setting, make_user):
    # given a submitted claim
    claim = setting.claim(submit=True)
    # when the same vehicle is claimed again
    with pytest.raises(ApplicationError) as error:
        setting.claim(documents=False, vin=claim.vin)
    # then it is refused without naming the other claim
    assert error.value.code == "vin_claimed"
    assert claim.number not in error.value.message
    assert Claim.objects.count() == 1


def test_two_drafts_of_one_vin_only_one_submits(setting):
    number = vin()
    first = setting.claim(vin=number)
    second = setting.claim(vin=number)
    services.claim_submit(actor=setting.dealer_user, pk=first.pk)
    with pytest.raises(ApplicationError) as error:
        services.claim_submit(actor=setting.dealer_user, pk=second.pk)
    assert error.value.code == "vin_claimed"
    second.refresh_from_db()
    assert second.status == Claim.Status.DRAFT


def test_same_invoice_number_flags_both_claims(setting):
    first = setting.claim(documents=False, invoice_number="INV-DUP-1")
    second = setting.claim(documents=False, invoice_number="inv-dup-1")
    first.refresh_from_db()
    assert (first.duplicate_invoice, second.duplicate_invoice) == (True, True)
    # and editing one away clears both
    values = setting.values(vin=second.vin, invoice_number="INV-OTHER")
    services.claim_update(actor=setting.dealer_user, pk=second.pk, values=values)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.duplicate_invoice, second.duplicate_invoice) == (False, False)


def test_same_file_flags_both_claims(setting):
    first = setting.claim(documents=False)
    second = setting.claim(documents=False)
    for claim in (first, second):
        services.claim_documents_add(
            actor=setting.dealer_user, pk=claim.pk, purpose="invoice", documents=[document(42)]
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.duplicate_document, second.duplicate_document) == (True, True)
    assert (first.duplicate_invoice, second.duplicate_invoice) == (False, False)


def test_documents_only_while_editable(setting):
    claim = setting.claim(submit=True)
    with pytest.raises(ApplicationError) as error:
        services.claim_documents_add(
            actor=setting.dealer_user, pk=claim.pk, purpose="invoice", documents=[document(3)]
        )
    assert error.value.code == "not_editable"


def test_take_next_picks_the_oldest_waiting_claim(setting):
    first = setting.claim(submit=True)
    second = setting.claim(submit=True)
    taken = services.claim_take_next(actor=setting.ops)
    assert taken.pk == first.pk
    assert taken.assigned_to == setting.ops
    assert services.claim_take_next(actor=setting.ops).pk == second.pk
    assert services.claim_take_next(actor=setting.ops) is None


def _reset_claim(setting, days_ago):
    from django.utils import timezone

    claim = setting.claim(submit=True)
    services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    services.claim_reset(actor=setting.ops, pk=claim.pk, reasons=["DOC_MISSING"])
    Claim.objects.filter(pk=claim.pk).update(
        decided_at=timezone.now() - datetime.timedelta(days=days_ago)
    )
    return claim


def test_a_reset_not_answered_in_time_is_rejected_and_the_dealer_told(setting, reasons, settings):
    settings.CLAIM_RESET_ANSWER_DAYS = 10
    _special_sales_contact(setting.dealer_user.dealer)
    late = _reset_claim(setting, days_ago=11)
    in_time = _reset_claim(setting, days_ago=9)
    # when the daily check runs (twice)
    assert services.claims_reset_unanswered_reject() == 1
    assert services.claims_reset_unanswered_reject() == 0
    # then the late one is rejected with the coded reason, the other still waits
    late.refresh_from_db()
    in_time.refresh_from_db()
    assert (late.status, in_time.status) == (Claim.Status.REJECTED, Claim.Status.RESET)
    event = audit_events_for(late).get(action="reject_unanswered")
    assert event.reason_codes == [services.RESET_NOT_ANSWERED]
    assert event.actor is None
    assert (
        OutboundEmail.objects.filter(
            template="claims_record_status", object_id=str(late.pk)
        ).count()
        == 2
    )  # the reset, then the rejection


def test_the_dealer_is_reminded_once_before_the_reset_deadline(setting, reasons, settings):
    settings.CLAIM_RESET_ANSWER_DAYS = 10
    settings.CLAIM_RESET_REMIND_DAYS_BEFORE = 3
    _special_sales_contact(setting.dealer_user.dealer)
    due_soon = _reset_claim(setting, days_ago=8)
    _reset_claim(setting, days_ago=2)
    assert services.claims_reset_remind() == 1
    assert services.claims_reset_remind() == 0
    email = OutboundEmail.objects.get(template="claims_reset_reminder")
    assert email.object_id == str(due_soon.pk)
    assert due_soon.number in email.subject
    # answering the reset clears the reminder for a next reset
    services.claim_resubmit(actor=setting.dealer_user, pk=due_soon.pk)
    due_soon.refresh_from_db()
    assert due_soon.reset_reminded_at is None


def test_an_edit_is_audited_field_by_field_and_the_support_follows(setting):
    claim = setting.claim(documents=False)
    values = setting.values(vin=claim.vin, invoice_number="INV-NEW", buyer_name="新名称")
    claim = services.claim_update(actor=setting.dealer_user, pk=claim.pk, values=values)
    event = audit_events_for(claim).get(action="update")
    assert event.changes["invoice_number"][1] == "INV-NEW"
    assert event.changes["buyer_name"] == ["华东物流有限公司", "新名称"]
    assert claim.support_amount == Decimal("8000.00")
