"""The customer limit counts what a person used in the period; a new rule version never
changes the rules of a day already begun."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from programs import services
from programs.models import ProgramRule, SpecialApplication
from ssa_ops.errors import ApplicationError
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory
from tests.programs.factories import program_with_rule, resident_id, rule_values, vip_application
from tests.programs.test_services import _approve_all

pytestmark = pytest.mark.django_db


def test_units_used_on_an_expired_application_still_count_in_the_period(make_user):
    # given a rule of 2 units per person in 365 days; an application approved, 2 units used
    ops = make_user(Role.OPS)
    program = program_with_rule()
    number = resident_id(sequence="771")
    first = vip_application(ops=ops, dealer=DealerFactory(), program=program, id_number=number)
    services.application_submit(actor=ops, pk=first.pk)
    first = _approve_all(first)
    services.application_entitlement_consume(application_id=first.pk, units=2, by_record=ops)
    # when the application expires (its validity passes) inside the rolling period
    assert services.applications_expire(today=first.valid_until + datetime.timedelta(days=1)) == 1
    # then the same person cannot apply again until the period has passed
    with pytest.raises(ApplicationError) as refused:
        vip_application(ops=ops, dealer=DealerFactory(), program=program, id_number=number)
    assert refused.value.code == "customer_limit"
    assert SpecialApplication.objects.count() == 1


def test_an_expired_application_that_used_nothing_frees_its_units(make_user):
    ops = make_user(Role.OPS)
    program = program_with_rule()
    number = resident_id(sequence="772")
    first = vip_application(ops=ops, dealer=DealerFactory(), program=program, id_number=number)
    services.application_submit(actor=ops, pk=first.pk)
    first = _approve_all(first)
    services.applications_expire(today=first.valid_until + datetime.timedelta(days=1))
    vip_application(ops=ops, dealer=DealerFactory(), program=program, id_number=number)
    assert SpecialApplication.objects.count() == 2


def test_a_new_version_cannot_start_today_once_a_version_is_in_force(make_user):
    lead = make_user(Role.OPS_LEAD)
    program = program_with_rule()
    today = timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        services.program_rule_revise(
            actor=lead, program_id=program.pk, valid_from=today, values=rule_values()
        )
    assert "valid_from" in refused.value.message_dict
    assert ProgramRule.objects.filter(program=program).count() == 1
    tomorrow = today + datetime.timedelta(days=1)
    services.program_rule_revise(
        actor=lead, program_id=program.pk, valid_from=tomorrow, values=rule_values()
    )
    assert ProgramRule.objects.filter(program=program).count() == 2


def test_a_version_not_yet_in_force_can_be_withdrawn_and_one_in_force_cannot(client, make_user):
    lead = make_user(Role.OPS_LEAD)
    program = program_with_rule()
    in_force = ProgramRule.objects.get(program=program)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    future = services.program_rule_revise(
        actor=lead, program_id=program.pk, valid_from=tomorrow, values=rule_values()
    )
    client.force_login(lead)
    page = client.get(f"/programs/{program.pk}/").content.decode()
    assert page.count('id="rule-withdraw"') == 1
    # the version in force stays
    with pytest.raises(ApplicationError) as refused:
        services.program_rule_withdraw(actor=lead, rule_id=in_force.pk)
    assert refused.value.code == "rule_in_force"
    # the one typed for tomorrow goes, and the program's history says so
    client.post(f"/programs/{program.pk}/rules/{future.pk}/withdraw/")
    assert list(ProgramRule.objects.filter(program=program)) == [in_force]
    from ssa_ops.audit import audit_events_for

    assert audit_events_for(program).first().action == "rule_withdrawn"
