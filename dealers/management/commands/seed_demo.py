"""Demo data for every role: regions, ~60 dealers with contacts, one login per role, and
records in every state. Safe to run again: it only adds what is missing."""

import io
import random

import openpyxl
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import override_settings

from claims.demo import claims_demo
from dealers import services
from dealers.credit_code import credit_code_generate
from dealers.models import Dealer, DealerChangeRequest, DealerContact, DealerGroup, Region
from programs.demo import programs_demo
from ssa_ops.accounts import role_groups_sync, user_create
from ssa_ops.jobs import job_run, job_start
from ssa_ops.models import BackgroundJob, OutboundEmail, User, VendorCompany
from ssa_ops.notifications import email_queue
from ssa_ops.roles import Role
from ssa_ops.workflow import lock_for_update, transition_perform

REGIONS = [
    ("N", "华北区", "North"),
    ("E", "华东区", "East"),
    ("S", "华南区", "South"),
    ("C", "华中区", "Central"),
    ("W", "西部区", "West"),
    ("NE", "东北区", "Northeast"),
]
CITIES = {
    "N": ["北京", "天津", "石家庄", "太原", "呼和浩特"],
    "E": ["上海", "杭州", "南京", "苏州", "宁波"],
    "S": ["广州", "深圳", "厦门", "南宁", "海口"],
    "C": ["武汉", "长沙", "郑州", "南昌", "合肥"],
    "W": ["成都", "重庆", "西安", "昆明", "贵阳"],
    "NE": ["沈阳", "大连", "长春", "哈尔滨", "吉林"],
}
PINYIN = {
    "北京": "Beijing",
    "天津": "Tianjin",
    "石家庄": "Shijiazhuang",
    "太原": "Taiyuan",
    "呼和浩特": "Hohhot",
    "上海": "Shanghai",
    "杭州": "Hangzhou",
    "南京": "Nanjing",
    "苏州": "Suzhou",
    "宁波": "Ningbo",
    "广州": "Guangzhou",
    "深圳": "Shenzhen",
    "厦门": "Xiamen",
    "南宁": "Nanning",
    "海口": "Haikou",
    "武汉": "Wuhan",
    "长沙": "Changsha",
    "郑州": "Zhengzhou",
    "南昌": "Nanchang",
    "合肥": "Hefei",
    "成都": "Chengdu",
    "重庆": "Chongqing",
    "西安": "Xi'an",
    "昆明": "Kunming",
    "贵阳": "Guiyang",
    "沈阳": "Shenyang",
    "大连": "Dalian",
    "长春": "Changchun",
    "哈尔滨": "Harbin",
    "吉林": "Jilin",
}
GROUPS = [
    ("G01", "永达汽车集团"),
    ("G02", "中升集团"),
    ("G03", "广汇汽车"),
    ("G04", "利星行"),
    ("G05", "宝信汽车"),
    ("G06", "和谐汽车"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
]
DEALER_COUNT = 60


class Command(BaseCommand):
    help = (
        "Load demo data: a login per role (password 'demo'), ~60 dealers "
        "and records in every state."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default="demo", help="password for every demo login")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")

    def handle(self, *args, password, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: seed_demo would put demo logins into a real system. "
                "Use --force to do it anyway."
            )
        rng = random.Random(2026)
        role_groups_sync()
        # Demo emails go nowhere while seeding; the outbox still records them.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            with transaction.atomic():
                regions = self._regions()
                groups = self._groups()
                vendor, _ = VendorCompany.objects.get_or_create(
                    name="信达核查服务有限公司",
                    defaults={
                        "contact_name": "周敏",
                        "contact_email": "checks@xinda.example.com",
                        "contact_phone": "021-55550123",
                    },
                )
                dealers = self._dealers(rng, regions, groups)
                users = self._users(password, dealers, regions, vendor)
            self._change_requests(users, dealers)
            programs_demo(users=users, dealers=dealers, vendor=vendor, stdout=self.stdout)
            claims_demo(users=users)
            self._failed_email(users)
        self._jobs(users)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Dealer.objects.count()} dealers, "
                f"{DealerChangeRequest.objects.count()} change requests. "
                f"Logins: {', '.join(users)} (password: {password})"
            )
        )

    def _regions(self):
        regions = {}
        for code, zh, en in REGIONS:
            regions[code], _ = Region.objects.get_or_create(
                code=code, defaults={"name_zh": zh, "name_en": en}
            )
        return regions

    def _groups(self):
        return [
            DealerGroup.objects.get_or_create(code=code, defaults={"name": name})[0]
            for code, name in GROUPS
        ]

    def _dealers(self, rng, regions, groups):
        codes = list(regions)
        dealers = []
        for number in range(1, DEALER_COUNT + 1):
            code = f"D{number:04d}"
            dealer = Dealer.objects.filter(code=code).first()
            region_code = codes[(number - 1) % len(codes)]
            city = rng.choice(CITIES[region_code])
            group = rng.choice(groups + [None])
            credit = credit_code_generate(rng)
            if dealer is None:
                brand_zh, brand_en = ("星驰", "Xingchi") if number % 2 else ("瑞通", "Ruitong")
                district = rng.choice(["经济开发区", "高新区", "汽车城"])
                dealer = services.dealer_create(
                    actor=None,
                    code=code,
                    name_zh=f"{city}{brand_zh}汽车销售服务有限公司{number}店",
                    name_en=f"{PINYIN[city]} {brand_en} Motors #{number}",
                    region=regions[region_code],
                    group=group,
                    legal_entity=f"{city}{brand_zh}汽车销售服务有限公司",
                    credit_code=credit,
                    address=f"{city}市{district}{rng.randint(1, 999)}号",
                )
                roles = list(DealerContact.Role)
                for index, role in enumerate(roles[: rng.randint(2, 4)]):
                    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN])
                    DealerContact.objects.create(
                        dealer=dealer,
                        role=role,
                        name=name,
                        phone=f"13{rng.randint(100000000, 999999999)}",
                        email=f"{role.value}.{code.lower()}@dealer.example.com",
                        is_primary=index == 0,
                    )
            dealers.append(dealer)
        for code, transitions in (
            ("D0055", ["suspend"]),
            ("D0056", ["suspend"]),
            ("D0057", ["terminate"]),
            ("D0058", ["suspend", "terminate"]),
        ):
            dealer = Dealer.objects.get(code=code)
            if dealer.status == Dealer.Status.ACTIVE:
                for name in transitions:
                    locked = lock_for_update(Dealer.objects.all(), dealer.pk)
                    transition_perform(getattr(locked, name), actor=None, reason="demo")
        return {dealer.code: dealer for dealer in Dealer.objects.all()}

    def _users(self, password, dealers, regions, vendor):
        specs = [
            ("ops", Role.OPS, {"first_name": "晓", "last_name": "陈"}),
            ("opslead", Role.OPS_LEAD, {"first_name": "静", "last_name": "王"}),
            (
                "region",
                Role.REGION_MANAGER,
                {"regions": [regions["N"], regions["E"]], "first_name": "强", "last_name": "李"},
            ),
            ("qc", Role.QC, {}),
            ("dealer", Role.DEALER, {"dealer": dealers["D0001"]}),
            ("dealer2", Role.DEALER, {"dealer": dealers["D0003"]}),
            ("vendor", Role.VENDOR, {"vendor": vendor}),
            ("it", Role.IT, {}),
            ("admin", Role.ADMIN, {}),
        ]
        users = {}
        for username, role, extra in specs:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    username=username,
                    password=password,
                    role=role,
                    email=f"{username}@ssa-ops.example.com",
                    **extra,
                )
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            users[username] = user
        return users

    @transaction.atomic
    def _change_requests(self, users, dealers):
        if DealerChangeRequest.objects.exists():
            return
        dealer_user, ops, lead = users["dealer"], users["ops"], users["opslead"]
        d1, d3 = dealers["D0001"], dealers["D0003"]
        # draft
        services.change_request_create(
            actor=dealer_user,
            dealer=d1,
            values={"address": d1.address + "（新展厅）"},
            note="展厅搬迁，下月生效",
        )
        # submitted, waiting in the ops queue
        submitted = services.change_request_create(
            actor=dealer_user,
            dealer=d1,
            values={"name_en": d1.name_en + " (Flagship)"},
            contact_changes=[
                {
                    "action": "add",
                    "values": {
                        "role": "finance",
                        "name": "孙丽",
                        "phone": "13900001111",
                        "email": "finance2.d0001@dealer.example.com",
                    },
                }
            ],
            note="新增财务联系人",
            documents=[_licence_scan(), _copier_scan()],
        )
        services.change_request_submit(actor=dealer_user, pk=submitted.pk)
        # applied (approve applies it straight away)
        applied = services.change_request_create(
            actor=users["dealer2"],
            dealer=d3,
            values={"address": d3.address.replace("号", "号A座")},
            note="门牌调整",
        )
        services.change_request_submit(actor=users["dealer2"], pk=applied.pk)
        services.change_request_approve(actor=ops, pk=applied.pk, reason="与营业执照一致")
        # rejected
        rejected = services.change_request_create(
            actor=dealer_user, dealer=d1, values={"legal_entity": "星驰控股有限公司"}
        )
        services.change_request_submit(actor=dealer_user, pk=rejected.pk)
        services.change_request_reject(
            actor=lead, pk=rejected.pk, reason="缺少新营业执照，请补充后重新提交"
        )
        # approved but not applicable: its credit code was given to another dealer meanwhile
        d5, d7 = dealers["D0005"], dealers["D0007"]
        stuck = services.change_request_create(
            actor=ops,
            dealer=d5,
            values={"credit_code": credit_code_generate(random.Random(7))},
            note="统一社会信用代码更正",
        )
        services.change_request_submit(actor=ops, pk=stuck.pk)
        taken = DealerChangeRequest.objects.get(pk=stuck.pk).proposed["credit_code"]
        other = services.change_request_create(actor=lead, dealer=d7, values={"credit_code": taken})
        services.change_request_submit(actor=lead, pk=other.pk)
        services.change_request_approve(actor=ops, pk=other.pk)
        services.change_request_approve(actor=lead, pk=stuck.pk, reason="核对无误")
        # approved, could not be applied either, and given up with a reason
        d9 = dealers["D0009"]
        given_up = services.change_request_create(
            actor=ops, dealer=d9, values={"credit_code": taken}, note="重复的信用代码"
        )
        services.change_request_submit(actor=ops, pk=given_up.pk)
        services.change_request_approve(actor=lead, pk=given_up.pk)
        services.change_request_cancel(
            actor=lead, pk=given_up.pk, reason="信用代码已属于其他经销商，改为线下核实"
        )

    def _failed_email(self, users):
        if OutboundEmail.objects.filter(status=OutboundEmail.Status.FAILED).exists():
            return
        # A real SMTP attempt to a closed local port, so the outbox shows a failure to resend.
        with (
            override_settings(
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=9,
                EMAIL_TIMEOUT=2,
            ),
            transaction.atomic(),
        ):
            cr = DealerChangeRequest.objects.filter(
                status=DealerChangeRequest.Status.REJECTED
            ).first()
            if cr is not None:
                email_queue(
                    to="dealer@ssa-ops.example.com",
                    template="change_request_status",
                    context={"change_request": cr, "recipient": users["dealer"]},
                    related_object=cr,
                )

    def _jobs(self, users):
        """A finished export and an import refused with its error workbook, run to the end
        here even when a broker is configured (running a finished job again does nothing)."""
        if BackgroundJob.objects.exists():
            return
        lead = users["opslead"]
        export = job_start(kind="dealer_export", actor=lead)
        job_run(job_id=export.pk)
        refused = job_start(
            kind="dealer_import",
            actor=lead,
            input_bytes=_bad_import_workbook(),
            input_name="经销商更新-有错误.xlsx",
        )
        job_run(job_id=refused.pk)


def _licence_scan():
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 590, 390), outline="darkred", width=4)
    draw.text((40, 40), "Business licence (demo scan)", fill="black")
    output = io.BytesIO()
    image.save(output, "PNG")
    return SimpleUploadedFile("营业执照-示例.png", output.getvalue(), content_type="image/png")


def _copier_scan():
    """A two-page TIFF as office copiers make them: its pages are previewed after upload."""
    from PIL import Image, ImageDraw

    pages = []
    for number in (1, 2):
        page = Image.new("L", (500, 700), 255)
        ImageDraw.Draw(page).text((40, 40), f"Licence copy, page {number} (demo scan)", fill=0)
        pages.append(page)
    output = io.BytesIO()
    pages[0].save(output, "TIFF", save_all=True, append_images=pages[1:])
    return SimpleUploadedFile(
        "营业执照副本-复印机.tiff", output.getvalue(), content_type="image/tiff"
    )


def _bad_import_workbook():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Dealers"
    sheet.append(["经销商代码", "中文名称", "大区", "法人实体", "统一社会信用代码"])
    sheet.append(["D0901", "演示新店", "N", "演示新店有限公司", "91110000MA01ABCD1X"])
    sheet.append(["D0902", "", "XX", "演示二店有限公司", "91110000MA01ABCD2Y"])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
