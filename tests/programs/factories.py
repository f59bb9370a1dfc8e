import datetime
import io
import itertools
import random

import factory
from django.core.files.uploadedfile import SimpleUploadedFile

from dealers.credit_code import credit_code_generate
from programs import services
from programs.models import DocumentType, Program, VehicleModel
from ssa_ops.models import Reason
from ssa_ops.validation import resident_id_check_character
from tests.ssa_ops.factories import VendorCompanyFactory

_rng = random.Random(11)


class VehicleModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VehicleModel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"VM{n:03d}")
    series = "S"
    name_zh = factory.Sequence(lambda n: f"车型{n}")
    name_en = factory.Sequence(lambda n: f"Model {n}")
    msrp = "250000.00"


class DocumentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentType
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"doc{n}")
    name_zh = factory.Sequence(lambda n: f"文件{n}")
    name_en = factory.Sequence(lambda n: f"Document {n}")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    code = factory.Sequence(lambda n: f"P{n:03d}")
    type = Program.Type.VIP
    name_zh = factory.Sequence(lambda n: f"项目{n}")
    name_en = factory.Sequence(lambda n: f"Program {n}")


class ReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reason
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"R_{n:03d}")
    label_zh = factory.Sequence(lambda n: f"原因{n}")
    label_en = factory.Sequence(lambda n: f"Reason {n}")
    applies_to = factory.LazyFunction(
        lambda: [
            "programs.corporateaccount",
            "programs.specialapplication",
            "programs.qualification",
        ]
    )


def resident_id(birth="19900307", area="110105", sequence="123") -> str:
    first17 = area + birth + sequence
    return first17 + resident_id_check_character(first17)


def credit_code() -> str:
    return credit_code_generate(_rng)


APPROVERS = [
    {"role": "kam", "name": "Kim KAM", "email": "kam@corp.example.com"},
    {"role": "pr", "name": "Pat PR", "email": "pr@corp.example.com"},
]


def rule_values(**overrides) -> dict:
    model = overrides.pop("model", None) or VehicleModelFactory()
    values = {
        "eligible_models": [{"model": model.code, "amount": "8000.00"}],
        "max_units_per_customer": 2,
        "period_days": 365,
        "pre_application_required": False,
        "claim_window_days": 90,
        "required_documents": {},
        "approver_chain": APPROVERS,
        "qualification_required": False,
        "entitlement_units": 2,
        "validity_days": 180,
        "note": "",
    }
    values.update(overrides)
    return values


def program_with_rule(*, type=Program.Type.VIP, valid_from=None, actor=None, **rule):
    program = ProgramFactory(type=type)
    if type == Program.Type.EMPLOYEE:
        program.checking_vendor = VendorCompanyFactory()
        program.save()
        rule.setdefault("approver_chain", [])
    services.program_rule_revise(
        actor=actor,
        program_id=program.pk,
        valid_from=valid_from or datetime.date(2020, 1, 1),
        values=rule_values(**rule),
        allow_past=True,
    )
    return program


def png_upload(name="proof.png"):
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(output, "PNG")
    return SimpleUploadedFile(name, output.getvalue(), content_type="image/png")


def account_values(**overrides) -> dict:
    values = {
        "company_name": "华东物流有限公司",
        "credit_code": credit_code(),
        "industry": "logistics",
        "province": "上海",
        "city": "上海",
        "fleet_size": 40,
        "contact_name": "王芳",
        "contact_phone": "13800001111",
        "contact_email": "fleet@logistics.example.com",
    }
    values.update(overrides)
    return values


_people = itertools.count(1)


def another_resident_id() -> str:
    """A different valid ID number each call (one person per application)."""
    n = next(_people)
    birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=n)
    return resident_id(birth=f"{birth:%Y%m%d}", sequence=f"{n % 1000:03d}")


def application_values(**overrides) -> dict:
    values = {
        "applicant_name": "李明",
        "id_number": another_resident_id(),
        "organisation": "上海市某协会",
        "title": "会长",
    }
    values.update(overrides)
    return values


def vip_application(*, ops, dealer, program=None, submit=False, **values):
    from programs.models import ProgramRule

    program = program or program_with_rule()
    rule = ProgramRule.objects.filter(program=program).order_by("-valid_from").first()
    model = VehicleModel.objects.get(code=rule.eligible_models[0]["model"])
    application = services.application_create(
        actor=ops,
        program=program,
        dealer=dealer,
        vehicle_model=model,
        values=application_values(**values),
    )
    if submit:
        application = services.application_submit(actor=ops, pk=application.pk)
    return application
