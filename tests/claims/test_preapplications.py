import datetime

import pytest
from django.core.exceptions import ValidationError

from claims import services
from claims.models import Claim, PreApplication
from programs.models import Program, SpecialApplication
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import ApplicationError, PermissionRefused, TransitionNotAllowed
from ssa_ops.roles import Role
from tests.claims.factories import Setting, approved_vip_application, document
from tests.programs.factories import DocumentTypeFactory, program_with_rule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _vip(make_user, **rule):
    ops, dealer_user = make_user(Role.OPS), make_user(Role.DEALER)
    program = program_with_rule(type=Program.Type.VIP, entitlement_units=2, **rule)
    application = approved_vip_application(ops=ops, dealer=dealer_user.dealer, program=program)
    model = program.rules.get().eligible_models[0]["model"]
    return ops, dealer_user, program, application, model


def _values(program, application, model, units=1):
    return {
        "program": program.pk,
        "special_application": application.pk,
        "lines": [{"model": model, "units": units}],
        "delivery_month": "2027-01",
    }


def test_approval_takes_the_applications_entitlement(make_user):
    # given an approved VIP application with 2 units and a submitted pre-application for 2
    ops, dealer_user, program, application, model = _vip(make_user)
    record = services.preapplication_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=_values(program, application, model, 2)
    )
    assert record.delivery_month == datetime.date(2027, 1, 1)
    services.preapplication_submit(actor=dealer_user, pk=record.pk)
    # when ops approve it
    record = services.preapplication_approve(actor=ops, pk=record.pk)
    # then it is approved for the rule's validity and the application has no units left
    assert record.status == PreApplication.Status.APPROVED
    assert record.valid_until == datetime.date.today() + datetime.timedelta(days=180)
    application.refresh_from_db()
    assert (application.units_used, application.units_left) == (2, 0)
    # and cancelling gives them back
    services.preapplication_cancel(actor=dealer_user, pk=record.pk, reason="customer left")
    application.refresh_from_db()
    assert application.units_used == 0


def test_approval_beyond_the_entitlement_is_refused_and_nothing_changes(make_user):
    ops, dealer_user, program, application, model = _vip(make_user)
    first = services.preapplication_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=_values(program, application, model, 2)
    )
    second = services.preapplication_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=_values(program, application, model, 1)
    )
    for record in (first, second):
        services.preapplication_submit(actor=dealer_user, pk=record.pk)
    services.preapplication_approve(actor=ops, pk=first.pk)
    with pytest.raises(ApplicationError) as error:
        services.preapplication_approve(actor=ops, pk=second.pk)
    assert error.value.code == "entitlement_exceeded"
    second.refresh_from_db()
    assert second.status == PreApplication.Status.SUBMITTED
    assert not audit_events_for(second).filter(action="approve").exists()


def test_the_quota_check_allows_today(make_user):
    ops, dealer_user, program, application, model = _vip(make_user)
    record = services.preapplication_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=_values(program, application, model)
    )
    assert services.preapplication_quota_check(preapplication=record) is None


def test_reset_resubmit_reject(make_user, reasons):
    ops, dealer_user, program, application, model = _vip(make_user)
    record = services.preapplication_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=_values(program, application, model)
    )
    services.preapplication_submit(actor=dealer_user, pk=record.pk)
    record = services.preapplication_reset(actor=ops, pk=record.pk, reasons=["DOC_MISSING"])
    assert record.status == PreApplication.Status.RESET
    values = {**_values(program, application, model), "delivery_month": "2027-02"}
    services.preapplication_update(actor=dealer_user, pk=record.pk, values=values)
    record = services.preapplication_resubmit(actor=dealer_user, pk=record.pk)
    assert record.status == PreApplication.Status.RESUBMITTED
    with pytest.raises(PermissionRefused):
        services.preapplication_reject(actor=dealer_user, pk=record.pk, reasons=["NOT_ELIGIBLE"])
    record = services.preapplication_reject(actor=ops, pk=record.pk, reasons=["NOT_ELIGIBLE"])
    assert record.status == PreApplication.Status.REJECTED
    with pytest.raises(TransitionNotAllowed):
        services.preapplication_approve(actor=ops, pk=record.pk)
    application.refresh_from_db()
    assert application.units_used == 0


def test_an_application_of_another_program_or_not_approved_is_refused(make_user):
    ops, dealer_user, program, application, model = _vip(make_user)
    other = program_with_rule(type=Program.Type.VIP)
    with pytest.raises(ValidationError) as error:
        services.preapplication_create(
            actor=dealer_user,
            dealer=dealer_user.dealer,
            values={**_values(program, application, model), "program": other.pk},
        )
    assert "special_application" in error.value.message_dict or "lines" in error.value.message_dict
    SpecialApplication.objects.filter(pk=application.pk).update(status="expired")
    with pytest.raises(ValidationError):
        services.preapplication_create(
            actor=dealer_user,
            dealer=dealer_user.dealer,
            values=_values(program, application, model),
        )
    assert PreApplication.objects.count() == 0


def test_expiry_gives_the_entitlement_back(make_user):
    ops, dealer_user, program, application, model = _vip(make_user)
    record = services.preapplication_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=_values(program, application, model)
    )
    services.preapplication_submit(actor=dealer_user, pk=record.pk)
    services.preapplication_approve(actor=ops, pk=record.pk)
    later = datetime.date.today() + datetime.timedelta(days=181)
    assert services.preapplications_expire(today=later) == 1
    assert services.preapplications_expire(today=later) == 0
    record.refresh_from_db()
    application.refresh_from_db()
    assert (record.status, application.units_used) == (PreApplication.Status.EXPIRED, 0)


def test_a_claim_needs_the_pre_application_where_the_rule_says(make_user):
    # given a fleet program whose rule requires a pre-application
    setting = Setting(make_user, pre_application_required=True)
    with pytest.raises(ValidationError) as error:
        setting.claim(documents=False)
    assert "pre_application" in error.value.message_dict
    # when the dealer has an approved pre-application for the account and model
    record = services.preapplication_create(
        actor=setting.dealer_user,
        dealer=setting.dealer_user.dealer,
        values={
            "program": setting.program.pk,
            "corporate_account": setting.account.pk,
            "lines": [{"model": setting.model_code, "units": 3}],
            "delivery_month": "2027-01",
        },
    )
    services.preapplication_submit(actor=setting.dealer_user, pk=record.pk)
    services.preapplication_approve(actor=setting.ops, pk=record.pk)
    # then the claim names it; but not for a date after its validity
    claim = setting.claim(pre_application=record.pk)
    assert claim.pre_application == record
    assert Claim.objects.count() == 1


def test_preapplication_documents_per_the_rule(make_user):
    DocumentTypeFactory(code="contract", name_en="Contract")
    ops, dealer_user, program, application, model = _vip(
        make_user, required_documents={"pre_application": ["contract"]}
    )
    record = services.preapplication_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=_values(program, application, model)
    )
    with pytest.raises(TransitionNotAllowed) as error:
        services.preapplication_submit(actor=dealer_user, pk=record.pk)
    assert error.value.message == "Documents missing: Contract."
    services.preapplication_documents_add(
        actor=dealer_user, pk=record.pk, purpose="contract", documents=[document(5)]
    )
    record = services.preapplication_submit(actor=dealer_user, pk=record.pk)
    assert record.status == PreApplication.Status.SUBMITTED
