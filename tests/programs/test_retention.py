"""Personal information in programs leaves with retention; records that claims rely on stay."""

import datetime

import pytest
from django.utils import timezone

from programs import services
from programs.models import SpecialApplication
from ssa_ops.attachments import attachments_create
from ssa_ops.models import OutboundEmail
from ssa_ops.personal_data_retention import personal_data_retention_run
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory
from tests.programs.conftest import latest_token
from tests.programs.factories import png_upload, vip_application

pytestmark = pytest.mark.django_db


def test_a_rejected_application_loses_its_personal_data_after_retention(make_user):
    ops = make_user(Role.OPS)
    rejected = vip_application(ops=ops, dealer=DealerFactory())
    attachments_create(
        owner=rejected, uploads=[png_upload()], actor=ops, purpose="application_document"
    )
    services.application_submit(actor=ops, pk=rejected.pk)
    from ssa_ops.links import decision_link_decide

    decision_link_decide(token=latest_token("kam@corp.example.com"), decision="reject", comment="x")
    signing = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    about_rejected = OutboundEmail.objects.filter(object_id=str(rejected.pk))
    assert about_rejected.exclude(body_text="").exists()  # the approver's email names them
    report = personal_data_retention_run(now=timezone.now() + datetime.timedelta(days=1096))
    assert report["erased"] == {"program_application": 1}
    rejected.refresh_from_db()
    signing.refresh_from_db()
    assert (rejected.id_number, rejected.applicant_name) == ("", "")
    assert rejected.status == SpecialApplication.Status.REJECTED
    assert signing.id_number  # still open: kept
    # the emails about the erased application keep their subjects, not their bodies
    assert about_rejected.exists() and not about_rejected.exclude(body_text="").exists()


def test_an_application_whose_units_were_used_keeps_its_number_but_not_the_person(make_user):
    from tests.programs.test_services import _approve_all

    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    application = _approve_all(application)
    services.application_entitlement_consume(application_id=application.pk, units=1, by_record=ops)
    services.applications_expire(today=application.valid_until + datetime.timedelta(days=1))
    report = personal_data_retention_run(now=timezone.now() + datetime.timedelta(days=1096))
    assert report["erased"] == {"program_application": 1}
    application.refresh_from_db()
    assert (application.id_number, application.applicant_name) == ("", "")
    assert application.ssa_number and application.units_used == 1
