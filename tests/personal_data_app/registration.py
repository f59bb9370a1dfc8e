"""What an app's AppConfig.ready() would register for its record (called by the fixture)."""

from ssa_ops.attachments import attachment_owner_register
from ssa_ops.notifications import email_templates_register
from ssa_ops.personal_data import (
    PersonalRecords,
    personal_document_purposes_register,
    personal_records_register,
)
from ssa_ops.roles import Role
from tests.personal_data_app.models import BuyerApplication

ID_CARD = "test_id_card"


def buyer_application_list(*, user):
    """Staff see every application; dealers, vendors and anonymous users none."""
    if not user.is_authenticated or user.role in (Role.DEALER, Role.VENDOR):
        return BuyerApplication.objects.none()
    return BuyerApplication.objects.all()


def register():
    personal_document_purposes_register({ID_CARD: "ID card"})
    email_templates_register({"buyer_notice": "Buyer notice"})
    attachment_owner_register(BuyerApplication, buyer_application_list)
    return personal_records_register(
        PersonalRecords(
            model=BuyerApplication,
            kind="buyer_application",
            label="buyer application",
            visible_to=buyer_application_list,
            closed_at="closed_at",
            erase_fields=("buyer_name",),
            document_purposes=(ID_CARD,),
            retention_days=30,
            keep_while=lambda application: "legal_hold" if application.on_hold else None,
        )
    )
