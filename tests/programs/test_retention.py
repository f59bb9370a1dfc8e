"""Personal information in programs leaves with retention; records that claims rely on stay."""

import datetime

import pytest
from django.utils import timezone

from programs import services
from programs.models import SpecialApplication
from ssa_ops.attachments import attachments_create
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
    report = personal_data_retention_run(now=timezone.now() + datetime.timedelta(days=1096))
    assert report["erased"] == {"program_application": 1}
    rejected.refresh_from_db()
    signing.refresh_from_db()
    assert (rejected.id_number, rejected.applicant_name) == ("", "")
    assert rejected.status == SpecialApplication.Status.REJECTED
    assert signing.id_number  # still open: kept
