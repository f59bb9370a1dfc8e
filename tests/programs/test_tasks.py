"""Beat's tasks: reminders and expiry, idempotent."""

import datetime

import pytest
from django.utils import timezone

from programs import tasks
from programs.models import SpecialApplication
from ssa_ops.links import decision_link_decide
from ssa_ops.models import OutboundEmail
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory
from tests.programs.conftest import latest_token
from tests.programs.factories import APPROVERS, vip_application

pytestmark = pytest.mark.django_db


def test_beat_reminds_waiting_approvers_once_per_period(make_user, settings):
    settings.PROGRAM_APPROVAL_REMINDER_DAYS = 2
    application = vip_application(ops=make_user(Role.OPS), dealer=DealerFactory(), submit=True)
    application.steps.filter(position=1).update(sent_at=timezone.now() - datetime.timedelta(days=3))
    assert tasks.remind_approvers.delay().get() == 1
    assert tasks.remind_approvers.delay().get() == 0
    reminder = OutboundEmail.objects.filter(template="program_approval_request").first()
    assert reminder.to == [APPROVERS[0]["email"]]


def test_beat_expires_applications_past_their_validity(make_user):
    application = vip_application(ops=make_user(Role.OPS), dealer=DealerFactory(), submit=True)
    for approver in APPROVERS:
        decision_link_decide(token=latest_token(approver["email"]), decision="approve")
    SpecialApplication.objects.filter(pk=application.pk).update(
        valid_until=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert tasks.expire_applications.delay().get() == 1
    assert tasks.expire_applications.delay().get() == 0
    application.refresh_from_db()
    assert application.status == SpecialApplication.Status.EXPIRED
