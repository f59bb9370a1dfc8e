import datetime
import itertools

from claims import services
from programs import services as program_services
from programs.models import Program
from ssa_ops.roles import Role
from ssa_ops.validation import vin_check_digit
from tests.programs.factories import (
    DocumentTypeFactory,
    VehicleModelFactory,
    account_values,
    program_with_rule,
)

_vins = itertools.count(1)


def vin(serial=None) -> str:
    """A valid VIN (check digit computed), a different one each call unless `serial` is given."""
    serial = next(_vins) if serial is None else serial
    body = "LSVAU218" + "0" + f"N2{serial:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def fleet_program(*, valid_from=None, documents=("invoice",), **rule):
    """A fleet program (customers are corporate accounts) whose rule asks for `documents` on
    claims."""
    for code in documents:
        DocumentTypeFactory(code=code, name_en=code.title(), name_zh=code)
    rule.setdefault("required_documents", {"claim": list(documents)})
    return program_with_rule(type=Program.Type.FLEET, valid_from=valid_from, **rule)


def approved_account(*, dealer_user, ops):
    account = program_services.corporate_account_create(
        actor=dealer_user, dealer=dealer_user.dealer, values=account_values()
    )
    program_services.corporate_account_submit(actor=dealer_user, pk=account.pk)
    return program_services.corporate_account_approve(actor=ops, pk=account.pk)


class Setting:
    """A dealer user, an ops user, a fleet program with an approved account."""

    def __init__(self, make_user, **rule):
        self.dealer_user = make_user(Role.DEALER)
        self.ops = make_user(Role.OPS)
        self.program = fleet_program(**rule)
        self.account = approved_account(dealer_user=self.dealer_user, ops=self.ops)
        self.rule = self.program.rules.order_by("-valid_from").first()
        self.model_code = self.rule.eligible_models[0]["model"]

    def values(self, **overrides) -> dict:
        values = {
            "program": self.program.pk,
            "corporate_account": self.account.pk,
            "vin": vin(),
            "vehicle_model": self.model_code,
            "invoice_number": f"INV{next(_vins):08d}",
            "invoice_date": (datetime.date.today() - datetime.timedelta(days=3)).isoformat(),
            "invoice_amount": "250000.00",
            "buyer_name": "华东物流有限公司",
            "delivery_date": datetime.date.today().isoformat(),
        }
        values.update(overrides)
        return values

    def claim(self, *, documents=True, submit=False, user=None, **overrides):
        user = user or self.dealer_user
        claim = services.claim_create(
            actor=user, dealer=user.dealer, values=self.values(**overrides)
        )
        if documents:
            for code in claim.rule.documents_for("claim"):
                services.claim_documents_add(
                    actor=user, pk=claim.pk, purpose=code, documents=[document(claim.pk, code)]
                )
        if submit:
            claim = services.claim_submit(actor=user, pk=claim.pk)
        return claim


def document(seed, code="invoice"):
    """A small PNG whose content differs per seed (so files are not duplicates unless meant)."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (40, 30), (seed * 7 % 256, seed * 13 % 256, len(code))).save(output, "PNG")
    return SimpleUploadedFile(f"{code}.png", output.getvalue(), content_type="image/png")


__all__ = ["Setting", "VehicleModelFactory", "document", "fleet_program", "vin"]


def approved_vip_application(*, ops, dealer, program=None, **values):
    """A VIP application signed by every approver of its rule (validity from today)."""
    from ssa_ops.links import decision_link_decide
    from tests.programs.conftest import latest_token
    from tests.programs.factories import APPROVERS, vip_application

    application = vip_application(ops=ops, dealer=dealer, program=program, submit=True, **values)
    for approver in APPROVERS:
        decision_link_decide(
            token=latest_token(approver["email"]), decision="approve", comment="同意"
        )
    application.refresh_from_db()
    return application
