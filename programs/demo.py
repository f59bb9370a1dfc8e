"""Demo data for programs, called once by seed_demo: the model catalog, one program of each
type with two rule versions, reasons, and accounts, applications and qualifications in every
state. Adds nothing when the catalog is already there.

Below it, what the claims demo's bulk history needs: the approved customers of the other
dealers, and helpers that write bulk records with their own times, documents and timeline."""

import contextlib
import datetime
import functools
import io
import random
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from dealers.credit_code import credit_code_generate
from programs import services
from programs.models import (
    CorporateAccount,
    Program,
    Qualification,
    SpecialApplication,
    VehicleModel,
)
from ssa_ops.attachments import attachments_create
from ssa_ops.audit import audit_event_build, audit_record_many
from ssa_ops.links import decision_link_decide, decision_link_issue
from ssa_ops.models import Attachment, AuditEvent, Reason
from ssa_ops.reasons import reason_create
from ssa_ops.validation import resident_id_check_character
from ssa_ops.workflow import lock_for_update, transition_perform

MODELS = [
    ("SDN-A", "A", "轿车 A 标准版", "Sedan A Standard", "189800"),
    ("SDN-A-L", "A", "轿车 A 长轴距版", "Sedan A Long", "229800"),
    ("SUV-X", "X", "SUV X 舒适版", "SUV X Comfort", "259800"),
    ("SUV-X-P", "X", "SUV X 豪华版", "SUV X Premium", "319800"),
    ("EV-E", "E", "纯电 E 续航版", "EV E Long Range", "279800"),
    ("MPV-M", "M", "商务 MPV", "Business MPV", "359800"),
]
DOCUMENTS = [
    ("invoice", "发票", "Invoice"),
    ("contract", "合同", "Contract"),
    ("id_card", "身份证", "ID card"),
    ("business_licence", "营业执照", "Business licence"),
    ("employment_proof", "在职证明（公积金/社保）", "Employment proof"),
    ("press_card", "记者证", "Press card"),
    ("appointment_letter", "任职文件", "Appointment letter"),
]
REASONS = [
    ("DOC_MISSING", "缺少必要文件", "A required document is missing", "all"),
    ("DOC_UNREADABLE", "文件不清晰", "A document cannot be read", "all"),
    ("INFO_MISMATCH", "信息与文件不一致", "Details do not match the documents", "all"),
    ("NOT_ELIGIBLE", "不符合项目条件", "Not eligible under the program", "all"),
    ("DUPLICATE", "重复申请", "Duplicate", "all"),
    ("EMPLOYMENT_CONFIRMED", "在职情况已核实", "Employment confirmed", "check"),
    ("EMPLOYMENT_NOT_FOUND", "未查到在职记录", "No record of employment found", "check"),
]
ALL_KINDS = ["programs.corporateaccount", "programs.specialapplication", "programs.qualification"]
APPROVERS = {
    "hr": {"role": "hr", "name": "刘人事", "email": "hr@partner-hr.example.com"},
    "kam": {"role": "kam", "name": "Kevin Ma (KAM)", "email": "kam@ssa-demo.example.com"},
    "pr": {"role": "pr", "name": "彭公关", "email": "pr@ssa-demo.example.com"},
}
PROGRAMS = [
    ("FLEET-KA", Program.Type.FLEET, "大客户车队", "Fleet / key accounts", []),
    ("LEASE", Program.Type.LEASING, "融资租赁", "Leasing", []),
    ("ASSOC", Program.Type.ASSOCIATE, "员工亲友购车", "Associates", ["hr"]),
    ("VIP", Program.Type.VIP, "贵宾购车", "VIP", ["kam", "pr"]),
    ("MEDIA", Program.Type.MEDIA, "媒体购车", "Media", ["pr"]),
    ("EMPLOYEE", Program.Type.EMPLOYEE, "合作企业员工购车", "Corporate employees", []),
]


def _resident_id(rng) -> str:
    birth = datetime.date(1965, 1, 1) + datetime.timedelta(days=rng.randint(0, 12000))
    first17 = f"310104{birth:%Y%m%d}{rng.randint(100, 999)}"
    return first17 + resident_id_check_character(first17)


def _scan(name, title):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 380), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 592, 372), outline="navy", width=3)
    draw.text((30, 30), title, fill="black")
    output = io.BytesIO()
    image.save(output, "PNG")
    return SimpleUploadedFile(name, output.getvalue(), content_type="image/png")


def _rules(program, lead, today, approver_codes):
    codes = [code for code, *_ in MODELS]
    stage_documents = {
        Program.Type.FLEET: {
            "pre_application": ["business_licence"],
            "claim": ["invoice", "contract"],
        },
        Program.Type.LEASING: {"claim": ["invoice", "contract"]},
        Program.Type.ASSOCIATE: {
            "application": ["id_card", "appointment_letter"],
            "claim": ["invoice"],
        },
        Program.Type.VIP: {"application": ["id_card", "appointment_letter"], "claim": ["invoice"]},
        Program.Type.MEDIA: {"application": ["id_card", "press_card"], "claim": ["invoice"]},
        Program.Type.EMPLOYEE: {"qualification": ["employment_proof"], "claim": ["invoice"]},
    }[program.type]
    for version, (start, amount, window) in enumerate(
        [
            (today - datetime.timedelta(days=400), 8000, 90),
            (today - datetime.timedelta(days=60), 6500, 60),
        ],
        start=1,
    ):
        services.program_rule_revise(
            actor=lead,
            program_id=program.pk,
            valid_from=start,
            values={
                "eligible_models": [
                    {"model": code, "amount": str(amount + 1000 * index)}
                    for index, code in enumerate(codes[: 3 + version])
                ],
                "max_units_per_customer": 20 if program.type == Program.Type.FLEET else 1,
                "period_days": 365,
                "pre_application_required": program.type == Program.Type.FLEET,
                "claim_window_days": window,
                "required_documents": stage_documents,
                "approver_chain": [APPROVERS[code] for code in approver_codes],
                "qualification_required": program.type == Program.Type.EMPLOYEE,
                "entitlement_units": 1 if program.type in Program.APPLICATION_TYPES else 0,
                "validity_days": 180,
                "note": "首版" if version == 1 else "支持金额下调，理赔窗口缩短为 60 天",
            },
            allow_past=True,
        )


@transaction.atomic
def programs_demo(*, users, dealers, vendor, stdout=None):
    """Create the programs demo; `users` by login, `dealers` by code, `vendor` the checking
    company. Prints the link of the application waiting on an approver."""
    if VehicleModel.objects.exists():
        return
    rng = random.Random(77)
    today = timezone.localdate()
    lead, ops = users["opslead"], users["ops"]
    dealer_user, dealer2 = users["dealer"], users["dealer2"]
    for code, zh, en, kinds in REASONS:
        if not Reason.objects.filter(code=code).exists():
            reason_create(
                actor=lead,
                code=code,
                label_zh=zh,
                label_en=en,
                applies_to=ALL_KINDS if kinds == "all" else ["programs.qualification"],
            )
    for code, series, zh, en, msrp in MODELS:
        services.vehicle_model_create(
            actor=lead, code=code, series=series, name_zh=zh, name_en=en, msrp=msrp
        )
    for code, zh, en in DOCUMENTS:
        services.document_type_create(code=code, name_zh=zh, name_en=en)
    programs = {}
    for code, type_, zh, en, approvers in PROGRAMS:
        programs[code] = services.program_create(
            actor=lead,
            code=code,
            type=type_,
            name_zh=zh,
            name_en=en,
            checking_vendor=vendor if type_ == Program.Type.EMPLOYEE else None,
        )
        _rules(programs[code], lead, today, approvers)

    # Corporate accounts: draft, submitted, reset, approved, rejected
    def account(user, company, *, city="上海"):
        return services.corporate_account_create(
            actor=user,
            dealer=user.dealer,
            values={
                "company_name": company,
                "credit_code": credit_code_generate(rng),
                "industry": rng.choice(["logistics", "rental", "services", "manufacturing"]),
                "province": city,
                "city": city,
                "fleet_size": rng.randint(10, 300),
                "contact_name": "王芳",
                "contact_phone": f"138{rng.randint(10000000, 99999999)}",
                "contact_email": "fleet@customer.example.com",
            },
            documents=[_scan("营业执照.png", "Business licence (demo)")],
        )

    account(dealer_user, "申城物流有限公司")  # draft
    submitted = account(dealer_user, "浦江租车服务有限公司")
    services.corporate_account_submit(actor=dealer_user, pk=submitted.pk)
    reset = account(dealer_user, "东方制造股份有限公司")
    services.corporate_account_submit(actor=dealer_user, pk=reset.pk)
    services.corporate_account_reset(
        actor=ops, pk=reset.pk, reasons=["DOC_UNREADABLE"], reason="营业执照照片模糊，请重新上传"
    )
    for user, company in ((dealer_user, "长江快运有限公司"), (dealer2, "星海出行科技有限公司")):
        approved = account(user, company, city="杭州")
        services.corporate_account_submit(actor=user, pk=approved.pk)
        services.corporate_account_approve(actor=ops, pk=approved.pk, reason="资料齐全")
    rejected = account(dealer2, "示例贸易有限公司")
    services.corporate_account_submit(actor=dealer2, pk=rejected.pk)
    services.corporate_account_reject(
        actor=lead, pk=rejected.pk, reasons=["NOT_ELIGIBLE"], reason="车队规模不足"
    )

    # Applications: draft, being signed (waiting on an approver), approved, rejected,
    # cancelled, expired
    d1, d3 = dealers["D0001"], dealers["D0003"]

    def application(program_code, dealer, name, extra):
        program = programs[program_code]
        rule = program.rules.order_by("-valid_from").first()
        return services.application_create(
            actor=ops,
            program=program,
            dealer=dealer,
            vehicle_model=VehicleModel.objects.get(code=rule.eligible_models[0]["model"]),
            values={"applicant_name": name, "id_number": _resident_id(rng), **extra},
            documents=[_scan("身份证.png", "ID card (demo)")],
        )

    vip = {"organisation": "上海市汽车行业协会", "title": "副会长"}
    media = {"media_outlet": "汽车周刊", "press_card_number": "B31000012345"}
    associate = {"employee_number": "E20231", "company_entity": "上海总部", "relation": "配偶"}
    application("VIP", d1, "陈思远", vip)  # draft
    waiting = application("VIP", d1, "林嘉怡", vip)
    services.application_submit(actor=ops, pk=waiting.pk)
    first = waiting.steps.get(position=1)
    # the first approver decides; the second one waits, with a link printed below
    _decide(first, "approve", "同意，客户为协会理事")
    approved = application("MEDIA", d1, "郑媒", media)
    services.application_submit(actor=ops, pk=approved.pk)
    _decide(approved.steps.get(position=1), "approve", "")
    rejected_app = application("ASSOC", d3, "吴亲属", associate)
    services.application_submit(actor=ops, pk=rejected_app.pk)
    _decide(rejected_app.steps.get(position=1), "reject", "员工关系证明不足")
    cancelled = application("VIP", d3, "孙取消", vip)
    services.application_cancel(
        actor=ops, pk=cancelled.pk, reasons=["DUPLICATE"], reason="重复录入"
    )
    expired = application("MEDIA", d3, "赵过期", media)
    services.application_submit(actor=ops, pk=expired.pk)
    _decide(expired.steps.get(position=1), "approve", "")
    # as beat would once its validity is over (the demo has no time to wait)
    locked = lock_for_update(SpecialApplication.objects.all(), expired.pk)
    transition_perform(locked.expire, actor=None)
    approved.refresh_from_db()
    services.application_entitlement_consume(
        application_id=approved.pk, units=1, by_record=approved, actor=ops
    )

    # Qualifications for the demo vendor: draft, with the vendor, passed, failed, approved
    def qualification(user, name, *, submit=True):
        q = services.qualification_create(
            actor=user,
            program=programs["EMPLOYEE"],
            dealer=user.dealer,
            values={
                "customer_name": name,
                "id_number": _resident_id(rng),
                "employer_name": "华东合作伙伴集团有限公司",
                "employee_number": f"HD{rng.randint(1000, 9999)}",
            },
            documents=[_scan("公积金缴存证明.png", "Housing fund record (demo)")],
        )
        if submit:
            services.qualification_submit(actor=user, pk=q.pk)
        return q

    vendor_user = users["vendor"]
    qualification(dealer_user, "钱草稿", submit=False)
    qualification(dealer_user, "冯待核")
    qualification(dealer2, "褚待核")
    passed = qualification(dealer_user, "卫通过")
    services.qualification_check_pass(
        actor=vendor_user, pk=passed.pk, reasons=["EMPLOYMENT_CONFIRMED"], reason="公积金连续缴存"
    )
    failed = qualification(dealer2, "蒋未过")
    services.qualification_check_fail(
        actor=vendor_user, pk=failed.pk, reasons=["EMPLOYMENT_NOT_FOUND"], reason="无缴存记录"
    )
    done = qualification(dealer_user, "沈批准")
    services.qualification_check_pass(
        actor=vendor_user, pk=done.pk, reasons=["EMPLOYMENT_CONFIRMED"], reason=""
    )
    services.qualification_approve(actor=ops, pk=done.pk)

    # A fresh link for the approver who waits, so the demo can open it (the emailed one is
    # replaced: the outbox shows it was sent again).
    second = waiting.steps.get(position=2)
    services.approval_step_resend(actor=ops, application_pk=waiting.pk, step_pk=second.pk)
    if stdout is not None:
        from ssa_ops.models import OutboundEmail

        email = OutboundEmail.objects.filter(template="program_approval_request").first()
        link = next(line for line in email.body_text.splitlines() if "/links/" in line)
        stdout.write(f"Approver link ({second.approver_name}, {waiting.number}): {link.strip()}")


def _decide(step, decision, comment):
    """What an approver does from the emailed link (the demo has no inbox to read)."""
    link, token = decision_link_issue(
        purpose=services.LINK_PURPOSE,
        step=step,
        approver_name=step.approver_name,
        approver_email=step.approver_email,
    )
    decision_link_decide(token=token, decision=decision, comment=comment)


# A bulk history -------------------------------------------------------------------------------
# The claims demo adds some 2,000 records of the last months with bulk_create. These helpers
# keep the time each row is given (auto_now would stamp every row "now"), set its fields as its
# declared transitions would have, and write its documents and audit timeline at the moments
# they happened.


@contextlib.contextmanager
def demo_times_kept(*models):
    """Inside, bulk_create writes the created_at/updated_at set on each row, not now (a
    change to the models' fields for the whole process: for the seeding command only)."""
    fields = [
        f
        for model in models
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def demo_office_hours(moment: datetime.datetime) -> datetime.datetime:
    """The moment, or when it falls outside 09:00-19:00 local time an hour of the working day
    before it: people file and decide during the day (never later than `moment`, so steps
    worked back from the last one keep their order)."""
    local = timezone.localtime(moment)
    if 9 <= local.hour < 19:
        return moment
    day = local if local.hour >= 19 else local - datetime.timedelta(days=1)
    return day.replace(hour=9 + (local.minute * 7 + local.second) % 10)


@functools.cache
def _bitmap_font():
    from PIL import ImageFont

    return ImageFont.load_default_imagefont()


def demo_scan(name: str, *lines: str) -> SimpleUploadedFile:
    """A small scan-like PNG; its lines make it unique (claims flag the same file twice).
    Drawn with Pillow's bitmap font, several times faster than its scalable one."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (360, 36 + 22 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, image.width - 5, image.height - 5), outline=80, width=2)
    font = _bitmap_font()
    for index, line in enumerate(lines):
        draw.text((18, 16 + 22 * index), line, fill=0, font=font)
    output = io.BytesIO()
    image.save(output, "PNG", compress_level=1)
    return SimpleUploadedFile(name, output.getvalue(), content_type="image/png")


@dataclass
class DemoStep:
    """One transition of a bulk record: its name on the model, when, by whom (None: the
    system), the transition's parameters and the audit's reasons."""

    name: str
    at: datetime.datetime
    actor: object = None
    params: dict = field(default_factory=dict)
    reason_codes: list = field(default_factory=list)
    reason: str = ""


class DemoHistory:
    """Bulk records made as if filed at `created_at` and moved step by step, with their
    documents and timelines; `write()` after the records' bulk_create stores both."""

    def __init__(self):
        self._timelines = []
        self._documents = []

    def record(self, model, *, created_at, created_by, steps=(), **values):
        """An unsaved record in the state its steps lead to, its fields set by the model's own
        transition methods (run without their checks: the demo's past is not today)."""
        state = model._meta.get_field("status").get_default()
        walked = []
        for step in steps:
            transition = getattr(model, step.name)._django_fsm.get_transition(state)
            assert transition is not None, (model.__name__, step.name, state)
            walked.append((step, state, transition.target))
            state = transition.target
        last = steps[-1].at if steps else created_at
        record = model(
            status=state, created_at=created_at, updated_at=last, created_by=created_by, **values
        )
        for step in steps:
            getattr(model, step.name).__wrapped__(record, **step.params)
        self._timelines.append((record, created_at, created_by, walked))
        return record

    def document(self, record, purpose, upload, *, at, actor):
        """Attach `upload` to `record` (saved by then) as uploaded at `at`."""
        self._documents.append((record, purpose, upload, at, actor))

    def write(self):
        events, attachments = [], []

        def event(record, action, at, actor, **audit):
            built = audit_event_build(actor=actor, obj=record, action=action, **audit)
            built.created_at = at
            events.append(built)

        for record, created_at, created_by, walked in self._timelines:
            initial = type(record)._meta.get_field("status").get_default()
            event(record, "create", created_at, created_by, to_state=initial)
            for step, source, target in walked:
                event(
                    record,
                    step.name,
                    step.at,
                    step.actor,
                    from_state=source,
                    to_state=target,
                    reason_codes=step.reason_codes,
                    reason=step.reason,
                )
        for record, purpose, upload, at, actor in self._documents:
            for attachment in attachments_create(
                owner=record, uploads=[upload], actor=actor, purpose=purpose
            ):
                attachment.created_at = at
                attachments.append(attachment)
                event(record, "attach", at, actor, reason=attachment.original_name)
        Attachment.objects.bulk_update(attachments, ["created_at"], batch_size=500)
        with demo_times_kept(AuditEvent):
            audit_record_many(events)
        self._timelines, self._documents = [], []


EMPLOYERS = ["华东合作伙伴集团有限公司", "申江电气股份有限公司", "长江智造科技有限公司"]
COMPANY_WORDS = ("宏达", "恒通", "安顺", "鑫源", "瑞丰", "兴业", "远航", "金桥")
COMPANY_KINDS = [
    ("物流有限公司", "logistics"),
    ("汽车租赁有限公司", "rental"),
    ("精密制造股份有限公司", "manufacturing"),
    ("商务服务有限公司", "services"),
    ("公交集团有限公司", "public"),
]
FAMILY_NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_NAMES = "伟芳娜敏静磊洋艳勇军杰娟涛明超霞"


def demo_person_name(rng) -> str:
    return rng.choice(FAMILY_NAMES) + rng.choice(GIVEN_NAMES) + rng.choice(["", *GIVEN_NAMES])


def customers_demo(*, dealers, employees, filer, reviewer, checker, before, rng, history) -> dict:
    """Approved customers for the claims demo's history at `dealers`, approved some weeks
    before `before` (bulk, through `history`): two corporate accounts each, and `employees`
    ({dealer pk: how many}) of partner companies with an approved qualification under the
    corporate-employee program. Returns {dealer pk: {"accounts": [...], "qualifications":
    [...]}}."""
    program = Program.objects.get(type=Program.Type.EMPLOYEE)
    rules = list(program.rules.order_by("valid_from"))
    codes = set(CorporateAccount.objects.values_list("credit_code", flat=True))
    people = set()
    customers = {}

    def moments():
        """(filed, submitted, decided) of a customer approved in the weeks before `before`."""
        decided = demo_office_hours(before - datetime.timedelta(hours=rng.uniform(24, 900)))
        submitted = demo_office_hours(decided - datetime.timedelta(hours=rng.uniform(2, 60)))
        created = demo_office_hours(submitted - datetime.timedelta(hours=rng.uniform(0.2, 30)))
        return created, submitted, decided

    for dealer in dealers:
        city = dealer.address.partition("市")[0] or "上海"
        accounts = []
        for _index in range(2):
            code = credit_code_generate(rng)
            while code in codes:
                code = credit_code_generate(rng)
            codes.add(code)
            kind, industry = rng.choice(COMPANY_KINDS)
            created, submitted, decided = moments()
            accounts.append(
                history.record(
                    CorporateAccount,
                    created_at=created,
                    created_by=filer,
                    steps=[
                        DemoStep("submit", submitted, filer, {"at": submitted}),
                        DemoStep("approve", decided, reviewer, {"by": reviewer, "at": decided}),
                    ],
                    dealer=dealer,
                    company_name=f"{city}{rng.choice(COMPANY_WORDS)}{kind}",
                    credit_code=code,
                    industry=industry,
                    province=city,
                    city=city,
                    fleet_size=rng.randint(10, 400),
                    contact_name=demo_person_name(rng),
                    contact_phone=f"139{rng.randint(10000000, 99999999)}",
                    contact_email=f"fleet{len(codes)}@customer.example.com",
                )
            )
        qualifications = []
        for _index in range(employees.get(dealer.pk, 0)):
            id_number = _resident_id(rng)
            while id_number in people:
                id_number = _resident_id(rng)
            people.add(id_number)
            created, submitted, decided = moments()
            checked = submitted + (decided - submitted) / 2
            qualifications.append(
                history.record(
                    Qualification,
                    created_at=created,
                    created_by=filer,
                    steps=[
                        DemoStep("submit", submitted, filer, {"at": submitted}),
                        DemoStep(
                            "check_pass",
                            checked,
                            checker,
                            {"by": checker, "at": checked},
                            ["EMPLOYMENT_CONFIRMED"],
                        ),
                        DemoStep("approve", decided, reviewer, {"by": reviewer, "at": decided}),
                    ],
                    program=program,
                    rule=[r for r in rules if r.valid_from <= timezone.localdate(created)][-1],
                    dealer=dealer,
                    vendor_id=program.checking_vendor_id,
                    customer_name=demo_person_name(rng),
                    id_number=id_number,
                    employer_name=rng.choice(EMPLOYERS),
                    employee_number=f"HD{rng.randint(10000, 99999)}",
                )
            )
        customers[dealer.pk] = {"accounts": accounts, "qualifications": qualifications}
    every_account = [a for found in customers.values() for a in found["accounts"]]
    every_qualification = [q for found in customers.values() for q in found["qualifications"]]
    with demo_times_kept(CorporateAccount, Qualification):
        CorporateAccount.objects.bulk_create(every_account, batch_size=500)
        Qualification.objects.bulk_create(every_qualification, batch_size=500)
    for account in every_account:
        history.document(
            account,
            "business_licence",
            demo_scan("营业执照.png", "Business licence (demo)", account.credit_code),
            at=account.created_at,
            actor=filer,
        )
    for qualification in every_qualification:
        history.document(
            qualification,
            "employment_proof",
            demo_scan("公积金缴存证明.png", "Housing fund record (demo)", qualification.number),
            at=qualification.created_at,
            actor=filer,
        )
    return customers
