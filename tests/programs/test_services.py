"""Programs' services: versioned rules, accounts, the signing chain, numbers, entitlements,
qualifications."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from programs import selectors, services
from programs.models import (
    ApprovalStep,
    CorporateAccount,
    Program,
    Qualification,
    SpecialApplication,
    VehicleModel,
)
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import ApplicationError, PermissionRefused, TransitionNotAllowed
from ssa_ops.links import decision_link_decide
from ssa_ops.models import DecisionLink, OutboundEmail
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory
from tests.programs.conftest import latest_token
from tests.programs.factories import (
    APPROVERS,
    DocumentTypeFactory,
    VehicleModelFactory,
    account_values,
    png_upload,
    program_with_rule,
    resident_id,
    rule_values,
    vip_application,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


# Rules ------------------------------------------------------------------------------------------


def test_a_record_dated_before_a_rule_change_uses_the_old_amount_and_documents(make_user):
    # given version 1 (8,000 CNY, invoice) and, from June, version 2 (6,500 CNY, + contract)
    lead = make_user(Role.OPS_LEAD)
    model = VehicleModelFactory()
    DocumentTypeFactory(code="invoice"), DocumentTypeFactory(code="contract")
    program = program_with_rule(
        model=model,
        valid_from=datetime.date(2026, 1, 1),
        required_documents={"claim": ["invoice"]},
    )
    services.program_rule_revise(
        actor=lead,
        program_id=program.pk,
        valid_from=datetime.date(2026, 6, 1),
        values=rule_values(
            model=model,
            eligible_models=[{"model": model.code, "amount": "6500"}],
            required_documents={"claim": ["invoice", "contract"]},
        ),
        allow_past=True,
    )
    # when the rule is asked for on a date before and after the change
    before = selectors.program_rule_on(program_id=program.pk, on_date=datetime.date(2026, 5, 31))
    after = selectors.program_rule_on(program_id=program.pk, on_date=datetime.date(2026, 6, 1))
    # then each date has its own version, and version 1 was not rewritten
    assert (before.version, before.support_amount(model.code)) == (1, Decimal("8000.00"))
    assert before.documents_for("claim") == ["invoice"]
    assert (after.version, after.support_amount(model.code)) == (2, Decimal("6500.00"))
    assert after.documents_for("claim") == ["invoice", "contract"]
    assert (
        selectors.program_rule_on(program_id=program.pk, on_date=datetime.date(2025, 12, 31))
        is None
    )
    assert [e.action for e in audit_events_for(program)] == ["rule_version", "rule_version"]


def test_an_application_keeps_the_rule_version_of_its_date(make_user):
    ops = make_user(Role.OPS)
    model = VehicleModelFactory()
    program = program_with_rule(model=model, valid_from=datetime.date(2026, 1, 1))
    services.program_rule_revise(
        actor=ops,
        program_id=program.pk,
        valid_from=datetime.date(2026, 6, 1),
        values=rule_values(model=model, eligible_models=[{"model": model.code, "amount": "1"}]),
        allow_past=True,
    )
    application = services.application_create(
        actor=ops,
        program=program,
        dealer=DealerFactory(),
        vehicle_model=model,
        values={
            "applicant_name": "李明",
            "id_number": resident_id(),
            "organisation": "x",
            "title": "y",
        },
        applied_on=datetime.date(2026, 3, 1),
    )
    assert application.rule.version == 1
    assert application.rule.support_amount(model.code) == Decimal("8000.00")


def test_a_rule_version_never_starts_in_the_past_or_before_the_latest(make_user):
    lead = make_user(Role.OPS_LEAD)
    model = VehicleModelFactory()
    program = program_with_rule(model=model, valid_from=datetime.date(2026, 1, 1))
    with pytest.raises(ValidationError) as past:
        services.program_rule_revise(
            actor=lead,
            program_id=program.pk,
            valid_from=timezone.localdate() - datetime.timedelta(days=1),
            values=rule_values(model=model),
        )
    assert "past" in str(past.value)
    with pytest.raises(ValidationError):
        services.program_rule_revise(
            actor=lead,
            program_id=program.pk,
            valid_from=datetime.date(2026, 1, 1),
            values=rule_values(model=model),
            allow_past=True,
        )
    assert program.rules.count() == 1


def test_a_rule_refuses_unknown_models_amounts_and_approvers(make_user):
    lead = make_user(Role.OPS_LEAD)
    program = program_with_rule()
    with pytest.raises(ValidationError) as error:
        services.program_rule_revise(
            actor=lead,
            program_id=program.pk,
            valid_from=timezone.localdate() + datetime.timedelta(days=1),
            values=rule_values(
                eligible_models=[{"model": "NOPE", "amount": "1"}],
                approver_chain=[{"role": "boss", "name": "", "email": "x"}],
                claim_window_days=0,
            ),
        )
    assert set(error.value.message_dict) == {
        "eligible_models",
        "approver_chain",
        "claim_window_days",
    }
    assert program.rules.count() == 1


# Corporate accounts -----------------------------------------------------------------------------


def test_an_account_is_reset_with_coded_reasons_resubmitted_and_approved(make_user, reasons):
    # given a dealer's submitted account
    dealer_user, ops = make_user(Role.DEALER), make_user(Role.OPS)
    account = services.corporate_account_create(
        actor=dealer_user,
        dealer=dealer_user.dealer,
        values=account_values(),
        documents=[png_upload()],
    )
    services.corporate_account_submit(actor=dealer_user, pk=account.pk)
    # when ops reset it with a coded reason and a comment
    services.corporate_account_reset(
        actor=ops, pk=account.pk, reasons=["DOC_MISSING"], reason="营业执照不清晰"
    )
    account.refresh_from_db()
    assert account.status == CorporateAccount.Status.RESET
    reset = audit_events_for(account).get(action="reset")
    assert reset.reason_codes == ["DOC_MISSING"] and reset.reason == "营业执照不清晰"
    assert (
        reset.reason_display == "Reason 0 — 营业执照不清晰"
        or "营业执照不清晰" in reset.reason_display
    )
    # then the dealer edits and resubmits, and ops approve
    services.corporate_account_update(
        actor=dealer_user,
        pk=account.pk,
        values=account_values(credit_code=account.credit_code, fleet_size=55),
    )
    services.corporate_account_submit(actor=dealer_user, pk=account.pk)
    services.corporate_account_approve(actor=ops, pk=account.pk)
    account.refresh_from_db()
    assert (account.status, account.fleet_size, account.decided_by) == ("approved", 55, ops)
    assert list(selectors.corporate_accounts_usable(dealer_id=dealer_user.dealer_id)) == [account]


def test_a_reset_without_a_coded_reason_is_refused_and_changes_nothing(make_user, reasons):
    dealer_user, ops = make_user(Role.DEALER), make_user(Role.OPS)
    account = services.corporate_account_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=account_values()
    )
    services.corporate_account_submit(actor=dealer_user, pk=account.pk)
    for codes in ([], ["UNKNOWN"]):
        with pytest.raises(ValidationError):
            services.corporate_account_reset(actor=ops, pk=account.pk, reasons=codes, reason="x")
    account.refresh_from_db()
    assert account.status == CorporateAccount.Status.SUBMITTED
    assert not audit_events_for(account).filter(action="reset").exists()


def test_a_registered_credit_code_is_refused_with_a_pointer_and_no_details_for_others(make_user):
    first, second = make_user(Role.DEALER), make_user(Role.DEALER)
    code = account_values()["credit_code"]
    existing = services.corporate_account_create(
        actor=first, dealer=first.dealer, values=account_values(credit_code=code)
    )
    # the same dealer is pointed to its account
    with pytest.raises(ApplicationError) as own:
        services.corporate_account_create(
            actor=first, dealer=first.dealer, values=account_values(credit_code=code)
        )
    assert own.value.code == "credit_code_registered"
    assert own.value.extra == {"account": existing.number, "account_id": existing.pk}
    # another dealer learns that it exists, not whose it is or what it holds
    with pytest.raises(ApplicationError) as other:
        services.corporate_account_create(
            actor=second, dealer=second.dealer, values=account_values(credit_code=code)
        )
    assert other.value.extra == {"account": existing.number}
    assert existing.company_name not in other.value.message
    assert CorporateAccount.objects.count() == 1


def test_an_account_checks_the_credit_code_check_character(make_user):
    dealer_user = make_user(Role.DEALER)
    code = account_values()["credit_code"]
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(ValidationError) as error:
        services.corporate_account_create(
            actor=dealer_user, dealer=dealer_user.dealer, values=account_values(credit_code=wrong)
        )
    assert error.value.message_dict["credit_code"] == [
        "The check character of this unified social credit code is wrong."
    ]


# The signing chain ------------------------------------------------------------------------------


def _approve_all(application):
    for approver in APPROVERS:
        decision_link_decide(
            token=latest_token(approver["email"]), decision="approve", comment="同意"
        )
    application.refresh_from_db()
    return application


def test_each_approver_in_turn_approves_and_the_application_gets_an_ssa_number(make_user):
    ops, dealer_user = make_user(Role.OPS), make_user(Role.DEALER)
    application = vip_application(ops=ops, dealer=dealer_user.dealer, submit=True)
    steps = list(application.steps.order_by("position"))
    assert [s.status for s in steps] == ["pending", "waiting"]
    assert not any("pr@corp" in ",".join(e.to) for e in OutboundEmail.objects.all())
    # first approver
    decision_link_decide(
        token=latest_token("kam@corp.example.com"), decision="approve", comment="ok"
    )
    application.refresh_from_db()
    assert application.status == SpecialApplication.Status.SIGNING
    assert [s.status for s in application.steps.order_by("position")] == ["approved", "pending"]
    # second approver
    decision_link_decide(token=latest_token("pr@corp.example.com"), decision="approve", comment="")
    application.refresh_from_db()
    year = timezone.localdate().year
    assert application.status == SpecialApplication.Status.APPROVED
    assert application.ssa_number == f"SSA{year}-000001"
    assert application.valid_until - application.valid_from == datetime.timedelta(days=180)
    assert application.entitlement_units == 2
    actors = [e.actor_name for e in selectors.application_timeline(application)]
    assert "Kim KAM" in actors and "Pat PR" in actors
    decided = OutboundEmail.objects.filter(template="program_application_decided")
    assert sorted(e.to[0] for e in decided) == sorted([ops.email, dealer_user.email])


def test_a_rejection_at_the_second_step_ends_the_application_with_the_comment(make_user):
    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    decision_link_decide(token=latest_token("kam@corp.example.com"), decision="approve", comment="")
    decision_link_decide(
        token=latest_token("pr@corp.example.com"), decision="reject", comment="不符合媒体政策"
    )
    application.refresh_from_db()
    assert application.status == SpecialApplication.Status.REJECTED
    assert application.ssa_number is None
    step = application.steps.get(position=2)
    assert (step.status, step.comment) == ("rejected", "不符合媒体政策")
    reject = audit_events_for(application).get(action="reject")
    assert (reject.actor_name, reject.reason) == ("Pat PR", "不符合媒体政策")


def test_reassigning_a_step_sends_a_new_link_and_the_old_one_stops_working(make_user):
    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    old = latest_token("kam@corp.example.com")
    step = application.steps.get(position=1)
    services.approval_step_reassign(
        actor=ops,
        application_pk=application.pk,
        step_pk=step.pk,
        approver_name="Kai New",
        approver_email="kai@corp.example.com",
    )
    from ssa_ops.links import LinkRefused

    with pytest.raises(LinkRefused) as refused:
        decision_link_decide(token=old, decision="approve", comment="")
    assert refused.value.problem == "superseded"
    decision_link_decide(token=latest_token("kai@corp.example.com"), decision="approve", comment="")
    step.refresh_from_db()
    assert (step.status, step.approver_name) == ("approved", "Kai New")


def test_reassign_needs_the_permission(make_user):
    ops, qc = make_user(Role.OPS), make_user(Role.QC)
    application = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    step = application.steps.get(position=1)
    with pytest.raises(PermissionRefused):
        services.approval_step_resend(actor=qc, application_pk=application.pk, step_pk=step.pk)
    assert DecisionLink.objects.filter(status="active").count() == 1


def test_approvers_who_wait_are_reminded_once_with_a_new_link(make_user, settings):
    settings.PROGRAM_APPROVAL_REMINDER_DAYS = 2
    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    first = latest_token("kam@corp.example.com")
    now = timezone.now()
    assert services.approval_steps_remind(now=now) == 0
    later = now + datetime.timedelta(days=3)
    assert services.approval_steps_remind(now=later) == 1
    assert services.approval_steps_remind(now=later) == 0  # once per period
    assert latest_token("kam@corp.example.com") != first
    assert OutboundEmail.objects.filter(template="program_approval_request").count() == 2
    step = application.steps.get(position=1)
    assert step.reminded_at == later


def test_cancelling_an_application_stops_its_links(make_user, reasons):
    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    services.application_cancel(actor=ops, pk=application.pk, reasons=["NOT_ELIGIBLE"])
    application.refresh_from_db()
    assert application.status == SpecialApplication.Status.CANCELLED
    assert set(application.steps.values_list("status", flat=True)) == {"cancelled"}
    assert not DecisionLink.objects.filter(status="active").exists()


def test_approved_applications_expire_after_their_validity(make_user):
    ops = make_user(Role.OPS)
    application = _approve_all(vip_application(ops=ops, dealer=DealerFactory(), submit=True))
    assert services.applications_expire(today=application.valid_until) == 0
    assert services.applications_expire(today=application.valid_until + datetime.timedelta(1)) == 1
    application.refresh_from_db()
    assert application.status == SpecialApplication.Status.EXPIRED
    assert services.applications_expire(today=application.valid_until + datetime.timedelta(2)) == 0


def test_ssa_numbers_follow_each_other_per_year():
    from django.db import transaction

    with transaction.atomic():
        numbers = [services.ssa_number_next(year=2031) for _ in range(3)]
        other_year = services.ssa_number_next(year=2032)
    assert numbers == ["SSA2031-000001", "SSA2031-000002", "SSA2031-000003"]
    assert other_year == "SSA2032-000001"


# Entitlements -----------------------------------------------------------------------------------


def test_entitlement_is_consumed_refused_beyond_it_and_released(make_user):
    ops = make_user(Role.OPS)
    application = _approve_all(vip_application(ops=ops, dealer=DealerFactory(), submit=True))
    claim_a, claim_b, claim_c = DealerFactory(), DealerFactory(), DealerFactory()  # any records
    use = services.application_entitlement_consume(
        application_id=application.pk, units=1, by_record=claim_a
    )
    again = services.application_entitlement_consume(
        application_id=application.pk, units=1, by_record=claim_a
    )
    assert again.pk == use.pk  # the same record taking it again takes nothing more
    services.application_entitlement_consume(
        application_id=application.pk, units=1, by_record=claim_b
    )
    with pytest.raises(ApplicationError) as refused:
        services.application_entitlement_consume(
            application_id=application.pk, units=1, by_record=claim_c
        )
    assert refused.value.code == "entitlement_exceeded"
    application.refresh_from_db()
    assert application.units_used == 2
    services.application_entitlement_release(application_id=application.pk, by_record=claim_a)
    assert (
        services.application_entitlement_release(application_id=application.pk, by_record=claim_a)
        is None
    )
    services.application_entitlement_consume(
        application_id=application.pk, units=1, by_record=claim_c
    )
    application.refresh_from_db()
    assert application.units_used == 2


def test_entitlement_of_an_application_not_approved_or_out_of_validity_is_refused(make_user):
    ops = make_user(Role.OPS)
    signing = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    with pytest.raises(ApplicationError) as not_usable:
        services.application_entitlement_consume(application_id=signing.pk, units=1, by_record=ops)
    assert not_usable.value.code == "entitlement_not_usable"
    approved = _approve_all(signing)
    with pytest.raises(ApplicationError) as late:
        services.application_entitlement_consume(
            application_id=approved.pk,
            units=1,
            by_record=ops,
            on_date=approved.valid_until + datetime.timedelta(days=1),
        )
    assert late.value.code == "entitlement_out_of_validity"
    approved.refresh_from_db()
    assert approved.units_used == 0


def test_claims_find_usable_applications_by_id_number(make_user):
    ops = make_user(Role.OPS)
    number = resident_id(sequence="456")
    application = _approve_all(
        vip_application(ops=ops, dealer=DealerFactory(), submit=True, id_number=number)
    )
    found = selectors.special_application_usable(id_number=number, on_date=application.valid_from)
    assert found == [application]
    assert (
        selectors.special_application_usable(
            id_number=resident_id(), on_date=application.valid_from
        )
        == []
    )


# Qualifications ---------------------------------------------------------------------------------


def _qualification(dealer_user, *, proof=True):
    program = program_with_rule(type=Program.Type.EMPLOYEE)
    qualification = services.qualification_create(
        actor=dealer_user,
        program=program,
        dealer=dealer_user.dealer,
        values={
            "customer_name": "赵静",
            "id_number": resident_id(sequence="789"),
            "employer_name": "合作伙伴有限公司",
            "employee_number": "E1001",
        },
        documents=[png_upload("公积金.png")] if proof else [],
    )
    return program, qualification


def test_a_qualification_goes_to_its_vendor_then_ops_approve_it(make_user, reasons):
    from tests.ssa_ops.factories import UserFactory

    dealer_user, ops = make_user(Role.DEALER), make_user(Role.OPS)
    program, qualification = _qualification(dealer_user)
    vendor_user = UserFactory(role=Role.VENDOR, vendor=program.checking_vendor)
    services.qualification_submit(actor=dealer_user, pk=qualification.pk)
    services.qualification_check_pass(
        actor=vendor_user, pk=qualification.pk, reasons=["DOC_MISSING"], reason="公积金记录一致"
    )
    services.qualification_approve(actor=ops, pk=qualification.pk)
    qualification.refresh_from_db()
    assert qualification.status == Qualification.Status.APPROVED
    assert qualification.checked_by == vendor_user
    found = selectors.qualification_approved_for(
        program_id=program.pk, id_number=resident_id(sequence="789")
    )
    assert found == qualification


def test_a_qualification_without_proof_cannot_go_to_the_vendor(make_user):
    dealer_user = make_user(Role.DEALER)
    _program, qualification = _qualification(dealer_user, proof=False)
    with pytest.raises(TransitionNotAllowed) as refused:
        services.qualification_submit(actor=dealer_user, pk=qualification.pk)
    assert refused.value.code == "proof_missing"
    qualification.refresh_from_db()
    assert qualification.status == Qualification.Status.DRAFT


def test_ops_may_not_return_a_vendor_check(make_user, reasons):
    dealer_user, ops = make_user(Role.DEALER), make_user(Role.OPS)
    _program, qualification = _qualification(dealer_user)
    services.qualification_submit(actor=dealer_user, pk=qualification.pk)
    with pytest.raises(PermissionRefused):
        services.qualification_check_pass(actor=ops, pk=qualification.pk, reasons=["DOC_MISSING"])
    qualification.refresh_from_db()
    assert qualification.status == Qualification.Status.CHECKING


def test_an_application_refuses_a_model_the_rule_does_not_list(make_user):
    ops = make_user(Role.OPS)
    program = program_with_rule()
    other = VehicleModelFactory()
    with pytest.raises(ValidationError) as error:
        services.application_create(
            actor=ops,
            program=program,
            dealer=DealerFactory(),
            vehicle_model=other,
            values={
                "applicant_name": "x",
                "id_number": resident_id(),
                "organisation": "o",
                "title": "t",
            },
        )
    assert "vehicle_model" in error.value.message_dict
    assert not SpecialApplication.objects.exists()
    assert VehicleModel.objects.count() == 2
    assert ApprovalStep.objects.count() == 0


def test_a_person_over_the_rules_units_in_the_period_is_refused(make_user):
    # given a rule of 2 units per customer in 365 days, 2 units per application
    ops = make_user(Role.OPS)
    program = program_with_rule()
    number = resident_id(sequence="654")
    first = vip_application(ops=ops, dealer=DealerFactory(), program=program, id_number=number)
    services.application_submit(actor=ops, pk=first.pk)
    # when the same person applies again under the program
    with pytest.raises(ApplicationError) as refused:
        vip_application(ops=ops, dealer=DealerFactory(), program=program, id_number=number)
    # then it is refused, naming the application that holds the units
    assert refused.value.code == "customer_limit"
    assert first.number in refused.value.message
    assert SpecialApplication.objects.count() == 1
    # a draft holds nothing; another person is not concerned
    vip_application(ops=ops, dealer=DealerFactory(), program=program)


def test_two_drafts_of_one_person_cannot_both_be_sent_for_signing(make_user):
    ops = make_user(Role.OPS)
    program = program_with_rule()
    number = resident_id(sequence="655")
    first = vip_application(ops=ops, dealer=DealerFactory(), program=program, id_number=number)
    second = vip_application(ops=ops, dealer=DealerFactory(), program=program, id_number=number)
    services.application_submit(actor=ops, pk=first.pk)
    with pytest.raises(ApplicationError) as refused:
        services.application_submit(actor=ops, pk=second.pk)
    assert refused.value.code == "customer_limit"
    second.refresh_from_db()
    assert second.status == SpecialApplication.Status.DRAFT


def test_the_vendor_sees_the_employee_number_it_checks_masked(client, make_user):
    from rest_framework.test import APIClient

    from tests.ssa_ops.factories import UserFactory

    dealer_user = make_user(Role.DEALER)
    program, qualification = _qualification(dealer_user)
    services.qualification_submit(actor=dealer_user, pk=qualification.pk)
    vendor_user = UserFactory(role=Role.VENDOR, vendor=program.checking_vendor)
    client.force_login(vendor_user)
    page = client.get(f"/programs/qualifications/{qualification.pk}/").content.decode()
    employee = page.split('id="employee-number"')[1].split("</dd>")[0]
    assert "E1001" not in employee and "*" in employee
    api = APIClient()
    api.force_authenticate(vendor_user)
    shown = api.get(f"/api/v1/programs/qualifications/{qualification.pk}/").json()
    assert shown["employee_number"] != "E1001" and "*" in shown["employee_number"]
