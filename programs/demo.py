"""Demo data for programs, called once by seed_demo: the model catalog, one program of each
type with two rule versions, reasons, and accounts, applications and qualifications in every
state. Adds nothing when the catalog is already there."""

import datetime
import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from dealers.credit_code import credit_code_generate
from programs import services
from programs.models import Program, SpecialApplication, VehicleModel
from ssa_ops.links import decision_link_decide, decision_link_issue
from ssa_ops.models import Reason
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
