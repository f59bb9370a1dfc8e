"""Demo pre-applications and claims, called once by seed_demo after the programs demo; does
nothing when claims exist already.

- `dealer` and `dealer2`: every state, made through the services (audited, with documents),
  with an invoice number and a document file each on a claim of the other dealer (flagged).
- The other active dealers: a history of about DEMO_BULK_RECORDS (setting) pre-applications
  and claims of the last six months across three programs, bulk-created as the services
  would have left them (times, reviewers, documents, audit timeline), with a few duplicates
  and re-filed vehicles.
- Last month settled: one batch per dealer, by the settlement service.
"""

import datetime
import io
import itertools
import random
from collections import Counter
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from claims import services
from claims.models import Claim, CustomerKind, PreApplication
from dealers.models import Dealer
from programs.demo import (
    DemoHistory,
    DemoStep,
    customers_demo,
    demo_office_hours,
    demo_scan,
    demo_times_kept,
)
from programs.models import CorporateAccount, Program, VehicleModel
from ssa_ops.models import Reason
from ssa_ops.reasons import reason_create, reason_update
from ssa_ops.validation import vin_check_digit
from ssa_ops.workflow import lock_for_update, transition_perform

CLAIM_KINDS = ["claims.claim", "claims.preapplication"]
# Claims per state and dealer: a modest demo that still fills a queue page.
PER_STATE = 3


def _vin(serial: int) -> str:
    body = f"LFV2A2150R{serial:07d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def _scan(name: str, seed: int) -> SimpleUploadedFile:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (420, 280), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((6, 6, 414, 274), outline="navy", width=3)
    draw.text((24, 24), f"{name} (demo) #{seed}", fill="black")
    output = io.BytesIO()
    image.save(output, "PNG")
    return SimpleUploadedFile(name, output.getvalue(), content_type="image/png")


def _invoice(claim, seed: int, made: dict) -> SimpleUploadedFile:
    """The claim's invoice as the dealer's system issues it, read by the invoice check: an
    e-invoice (OFD), every third a PDF (shown with its fields outlined), and every seventh
    saying another total than the claim (an OCR mismatch to review). The same seed gives the
    same file (a duplicate document): `made` keeps them for the run."""
    from claims.invoice_reader.synthetic import invoice_render, invoice_saying

    if seed not in made:
        total = claim.invoice_amount + (1000 if seed % 7 == 3 else 0)
        values = {
            "vin": claim.vin,
            "invoice_number": claim.invoice_number,
            "issue_date": claim.invoice_date.isoformat(),
            "total_amount": f"{total:.2f}",
            "buyer_name": claim.buyer_name,
            "buyer_id": claim.buyer_credit_code,
            "seller_name": claim.dealer.legal_entity,
            "seller_id": claim.dealer.credit_code,
        }
        invoice = invoice_saying(random.Random(seed), "motor_vehicle", values)
        variant = "pdf_text" if seed % 3 == 0 else "ofd"
        file = invoice_render(invoice, variant, random.Random(seed))
        made[seed] = ("发票." + file.filename.rsplit(".", 1)[1], file.data)
    name, data = made[seed]
    return SimpleUploadedFile(name, data)


def _reasons_for_claims(lead) -> None:
    """The catalog's general reasons apply to claims and pre-applications too; the daily
    check's own reason is in the catalog so that it reads in words."""
    if not Reason.objects.filter(code=services.RESET_NOT_ANSWERED).exists():
        reason_create(
            actor=lead,
            code=services.RESET_NOT_ANSWERED,
            label_zh="退回后未按时回复",
            label_en="Reset not answered in time",
            applies_to=["claims.claim"],
        )
    for reason in Reason.objects.filter(
        code__in=["DOC_MISSING", "DOC_UNREADABLE", "INFO_MISMATCH", "NOT_ELIGIBLE", "DUPLICATE"]
    ):
        kinds = sorted(set(reason.applies_to or []) | set(CLAIM_KINDS))
        if kinds != sorted(reason.applies_to or []):
            reason_update(actor=lead, pk=reason.pk, applies_to=kinds)


def _internal(claim_pk, name, **params):
    """A transition run by the system, not by a person (settlement, the vendor check)."""
    with transaction.atomic():
        claim = lock_for_update(Claim.objects.all(), claim_pk)
        transition_perform(getattr(claim, name), actor=None, params=params)


@transaction.atomic
def claims_demo(*, users) -> None:
    if Claim.objects.exists() or PreApplication.objects.exists():
        return
    if Program.objects.filter(code__in=["LEASE", "FLEET-KA"]).count() != 2:
        return
    rng = random.Random(808)
    today = timezone.localdate()
    ops, lead = users["ops"], users["opslead"]
    _reasons_for_claims(lead)
    lease = Program.objects.get(code="LEASE")
    fleet = Program.objects.get(code="FLEET-KA")
    serial = iter(range(1, 1_000_000))
    invoices = {}
    last_month_end = timezone.localtime().replace(
        day=1, hour=12, minute=0, second=0, microsecond=0
    ) - datetime.timedelta(days=1)

    def approved_account(user):
        return (
            CorporateAccount.objects.filter(
                dealer=user.dealer, status=CorporateAccount.Status.APPROVED
            )
            .order_by("pk")
            .first()
        )

    # Pre-applications of the fleet program (its rule requires one before a claim).
    def preapplication(user, account, units=3):
        model = fleet.rules.order_by("-valid_from").first().eligible_models[0]["model"]
        record = services.preapplication_create(
            actor=user,
            dealer=user.dealer,
            values={
                "program": fleet.pk,
                "corporate_account": account.pk,
                "lines": [{"model": model, "units": units}],
                "delivery_month": (today + datetime.timedelta(days=45)).isoformat(),
            },
        )
        services.preapplication_documents_add(
            actor=user,
            pk=record.pk,
            purpose="business_licence",
            documents=[_scan("营业执照.png", record.pk)],
        )
        return record

    approved_preapplications = {}
    for user in (users["dealer"], users["dealer2"]):
        account = approved_account(user)
        if account is None:
            continue
        preapplication(user, account)  # draft
        submitted = preapplication(user, account)
        services.preapplication_submit(actor=user, pk=submitted.pk)
        reset = preapplication(user, account)
        services.preapplication_submit(actor=user, pk=reset.pk)
        services.preapplication_reset(
            actor=ops, pk=reset.pk, reasons=["DOC_UNREADABLE"], reason="营业执照不清晰"
        )
        answered = preapplication(user, account)
        services.preapplication_submit(actor=user, pk=answered.pk)
        services.preapplication_reset(actor=ops, pk=answered.pk, reasons=["INFO_MISMATCH"])
        services.preapplication_resubmit(actor=user, pk=answered.pk)
        rejected = preapplication(user, account)
        services.preapplication_submit(actor=user, pk=rejected.pk)
        services.preapplication_reject(actor=ops, pk=rejected.pk, reasons=["NOT_ELIGIBLE"])
        approved = preapplication(user, account, units=20)
        services.preapplication_submit(actor=user, pk=approved.pk)
        services.preapplication_approve(actor=ops, pk=approved.pk, reason="同意")
        approved_preapplications[user.pk] = approved
        cancelled = preapplication(user, account)
        services.preapplication_submit(actor=user, pk=cancelled.pk)
        services.preapplication_approve(actor=lead, pk=cancelled.pk)
        services.preapplication_cancel(actor=user, pk=cancelled.pk, reason="客户取消订单")
        expired = preapplication(user, account)
        services.preapplication_submit(actor=user, pk=expired.pk)
        services.preapplication_approve(actor=lead, pk=expired.pk)
        # its validity is made to have passed, so the daily expiry takes it
        PreApplication.objects.filter(pk=expired.pk).update(
            valid_until=today - datetime.timedelta(days=1)
        )
        services.preapplications_expire(today=today)

    # Claims: every state for each dealer, under the leasing and the fleet program.
    def claim(user, account, *, program, invoice_number=None, pre_application=None, scan=None):
        rule = program.rules.order_by("-valid_from").first()
        model = (
            pre_application.lines[0]["model"]
            if pre_application
            else rng.choice(rule.eligible_models)["model"]
        )
        number = next(serial)
        record = services.claim_create(
            actor=user,
            dealer=user.dealer,
            values={
                "program": program.pk,
                "corporate_account": account.pk,
                "pre_application": pre_application.pk if pre_application else None,
                "vin": _vin(number),
                "vehicle_model": model,
                "invoice_number": invoice_number or f"{31_000_000 + number}",
                "invoice_date": (today - datetime.timedelta(days=rng.randint(1, 30))).isoformat(),
                "invoice_amount": f"{rng.randint(180, 360) * 1000}.00",
                "buyer_name": account.company_name,
                "delivery_date": today.isoformat(),
            },
        )
        for code in rule.documents_for("claim"):
            if code == "invoice":
                document = _invoice(record, scan if scan is not None else number, invoices)
            else:
                document = _scan(f"{code}.png", number)
            services.claim_documents_add(
                actor=user, pk=record.pk, purpose=code, documents=[document]
            )
        return record

    def moved(user, account, state, **kwargs):
        record = claim(user, account, **kwargs)
        if state == Claim.Status.DRAFT:
            return record
        if state == Claim.Status.WITHDRAWN:
            return services.claim_withdraw(actor=user, pk=record.pk)
        services.claim_submit(actor=user, pk=record.pk)
        if state == Claim.Status.SUBMITTED:
            return record
        if state == Claim.Status.THIRD_PARTY_CHECK:
            return _internal(record.pk, "send_to_check")
        services.claim_pick_up(actor=ops, pk=record.pk)
        if state == Claim.Status.IN_REVIEW:
            return record
        if state in (Claim.Status.RESET, Claim.Status.RESUBMITTED):
            services.claim_reset(
                actor=ops, pk=record.pk, reasons=["DOC_MISSING"], reason="合同缺少盖章页"
            )
            if state == Claim.Status.RESUBMITTED:
                services.claim_resubmit(actor=user, pk=record.pk)
            return record
        if state == Claim.Status.REJECTED:
            return services.claim_reject(actor=ops, pk=record.pk, reasons=["NOT_ELIGIBLE"])
        services.claim_approve(actor=ops, pk=record.pk, reason="资料齐全")
        if state == Claim.Status.SETTLED:
            # approved last month: the month's settlement below takes it
            Claim.objects.filter(pk=record.pk).update(decided_at=last_month_end)
        return record

    for user in (users["dealer"], users["dealer2"]):
        account = approved_account(user)
        if account is None:
            continue
        for state in Claim.Status.values:
            for _index in range(PER_STATE):
                moved(user, account, state, program=lease)
        if user.pk in approved_preapplications:
            moved(
                user,
                account,
                Claim.Status.SUBMITTED,
                program=fleet,
                pre_application=approved_preapplications[user.pk],
            )
    # One invoice number, and one invoice scan, on a claim of each dealer: both claims of each
    # pair are flagged, neither dealer sees the other's claim.
    for user in (users["dealer"], users["dealer2"]):
        account = approved_account(user)
        if account is not None:
            moved(user, account, Claim.Status.SUBMITTED, program=lease, invoice_number="31009999")
            moved(user, account, Claim.Status.SUBMITTED, program=lease, scan=999_999)
    _BulkHistory(users=users, rng=random.Random(909)).create(settings.DEMO_BULK_RECORDS)
    # One settled month: the claims approved before this month, one batch per dealer.
    services.settlement_run(actor=lead, month=last_month_end.date())


# The bulk history ------------------------------------------------------------------------------

CLAIM_SHARE = 0.85
HISTORY_DAYS = 170
# How the history's claims stand today (weights): most settled, a working queue, a few of each.
CLAIM_STATES = {
    Claim.Status.SETTLED: 33,
    Claim.Status.APPROVED: 8,
    Claim.Status.REJECTED: 9,
    Claim.Status.WITHDRAWN: 4,
    Claim.Status.DRAFT: 6,
    Claim.Status.SUBMITTED: 14,
    Claim.Status.THIRD_PARTY_CHECK: 3,
    Claim.Status.IN_REVIEW: 10,
    Claim.Status.RESET: 8,
    Claim.Status.RESUBMITTED: 5,
}
CLAIM_PROGRAMS = {"LEASE": 45, "FLEET-KA": 35, "EMPLOYEE": 20}
# Pre-applications besides those the fleet claims were sold under (which are approved or expired).
PREAPPLICATION_STATES = {
    PreApplication.Status.DRAFT: 12,
    PreApplication.Status.SUBMITTED: 20,
    PreApplication.Status.RESUBMITTED: 8,
    PreApplication.Status.RESET: 10,
    PreApplication.Status.APPROVED: 15,
    PreApplication.Status.REJECTED: 15,
    PreApplication.Status.CANCELLED: 8,
    PreApplication.Status.EXPIRED: 12,
}
# The transitions that lead to each state (a reset loop is added to some at random).
CLAIM_PATHS = {
    Claim.Status.DRAFT: [],
    Claim.Status.SUBMITTED: ["submit"],
    Claim.Status.THIRD_PARTY_CHECK: ["submit", "send_to_check"],
    Claim.Status.IN_REVIEW: ["submit", "pick_up"],
    Claim.Status.RESET: ["submit", "pick_up", "reset"],
    Claim.Status.RESUBMITTED: ["submit", "pick_up", "reset", "resubmit"],
    Claim.Status.APPROVED: ["submit", "pick_up", "approve"],
    Claim.Status.SETTLED: ["submit", "pick_up", "approve"],
    Claim.Status.REJECTED: ["submit", "pick_up", "reject"],
    Claim.Status.WITHDRAWN: ["withdraw"],
}
PREAPPLICATION_PATHS = {
    PreApplication.Status.DRAFT: [],
    PreApplication.Status.SUBMITTED: ["submit"],
    PreApplication.Status.RESUBMITTED: ["submit", "reset", "resubmit"],
    PreApplication.Status.RESET: ["submit", "reset"],
    PreApplication.Status.APPROVED: ["submit", "approve"],
    PreApplication.Status.REJECTED: ["submit", "reject"],
    PreApplication.Status.CANCELLED: ["submit", "approve", "cancel"],
    PreApplication.Status.EXPIRED: ["submit", "approve", "expire"],
}
# Hours before a step since the one before it (the first: since the record was filed).
STEP_HOURS = {
    "submit": (0.3, 72),
    "send_to_check": (1, 30),
    "pick_up": (1, 100),
    "approve": (0.2, 30),
    "reset": (0.2, 30),
    "reject": (0.2, 30),
    "resubmit": (3, 140),
    "withdraw": (2, 200),
    "cancel": (24, 900),
}
# When the last step happened, in days ago (approved and settled claims: by month, see _anchor).
ANCHOR_DAYS = {
    "draft": (0, 20),
    "submitted": (0, 8),
    "third_party_check": (1, 12),
    "in_review": (0, 4),
    "reset": (0, 9),  # answered within CLAIM_RESET_ANSWER_DAYS, none due a reminder yet
    "resubmitted": (0, 6),
    "rejected": (1, HISTORY_DAYS),
    "withdrawn": (1, HISTORY_DAYS),
    "cancelled": (2, 150),
}
RESET_REASONS = [
    ("DOC_MISSING", "合同缺少盖章页"),
    ("DOC_UNREADABLE", "发票照片不清晰，请重新上传"),
    ("INFO_MISMATCH", "购车方名称与发票不一致"),
]
REJECT_REASONS = [("NOT_ELIGIBLE", "车型不在项目范围内"), ("INFO_MISMATCH", "发票信息无法核实")]
# A VIN's model code (positions 4-8) per vehicle model, and the model year letter (position 10).
VIN_MODEL = {
    "SDN-A": "2A215",
    "SDN-A-L": "2A31L",
    "SUV-X": "3X42S",
    "SUV-X-P": "3X42P",
    "EV-E": "5E1EV",
    "MPV-M": "7M5MP",
}
VIN_YEAR = {2023: "P", 2024: "R", 2025: "S", 2026: "T", 2027: "V", 2028: "W", 2029: "X"}


class _BulkHistory:
    """The other dealers' history, bulk-created: each record has the fields, times and
    reviewers its transitions would have given it, its documents and its audit timeline."""

    def __init__(self, *, users, rng):
        self.rng = rng
        self.now = timezone.now()
        self.today = timezone.localdate()
        month_start = self.today.replace(day=1)
        self.month_start = timezone.make_aware(
            datetime.datetime.combine(month_start, datetime.time.min)
        )
        self.users = users
        # The other dealers have no logins in the demo: their history reads as entered by the
        # administrator, so that either ops login may decide it (four eyes).
        self.filer = users["admin"]
        self.reviewers = [users["ops"], users["opslead"]]
        self.history = DemoHistory()
        self.programs = {p.code: p for p in Program.objects.filter(code__in=CLAIM_PROGRAMS)}
        self.rules = {
            code: list(program.rules.order_by("valid_from"))
            for code, program in self.programs.items()
        }
        self.models = {model.code: model for model in VehicleModel.objects.all()}
        self.serial = itertools.count(100_001)

    # Time ------------------------------------------------------------------------------------

    def _ago(self, low_days, high_days) -> datetime.datetime:
        return self.now - datetime.timedelta(days=self.rng.uniform(low_days, high_days))

    def _anchor(self, state) -> datetime.datetime:
        """When a record in `state` took its last step."""
        if state == Claim.Status.APPROVED:  # approved this month: not settled yet
            low = min(self.month_start + datetime.timedelta(hours=9), self.now)
            moment = low + (self.now - low) * self.rng.random()
            return max(demo_office_hours(moment), low)
        if state == Claim.Status.SETTLED:  # approved before this month: settled last month
            start = self.now - datetime.timedelta(days=HISTORY_DAYS)
            return demo_office_hours(start + (self.month_start - start) * self.rng.random())
        return demo_office_hours(self._ago(*ANCHOR_DAYS[state]))

    def _times(self, names, last) -> tuple[datetime.datetime, list[datetime.datetime]]:
        """(filed at, [time of each step]) for steps ending at `last`, worked back in office
        hours."""
        times = [last]
        for name in reversed(names[1:]):
            gap = datetime.timedelta(hours=self.rng.uniform(*STEP_HOURS[name]))
            times.insert(0, demo_office_hours(times[0] - gap))
        if not names:
            return last, []
        gap = datetime.timedelta(hours=self.rng.uniform(*STEP_HOURS[names[0]]))
        return demo_office_hours(times[0] - gap), times

    def _expiry(self, decided):
        """When the daily expiry took a fleet pre-application approved at `decided`, the night
        after its last valid day (None: still valid)."""
        rule = self._rule("FLEET-KA", timezone.localdate(decided))
        last_day = timezone.localdate(decided) + datetime.timedelta(days=rule.validity_days)
        if last_day >= self.today:
            return None
        night = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time(2))
        return min(timezone.make_aware(night), self.now)

    def _rule(self, code, day):
        return [rule for rule in self.rules[code] if rule.valid_from <= day][-1]

    # Claims ----------------------------------------------------------------------------------

    def _claim_path(self, state) -> list[str]:
        path = list(CLAIM_PATHS[state])
        reset_first = {"approved": 0.15, "settled": 0.15, "rejected": 0.2, "in_review": 0.2}
        if self.rng.random() < reset_first.get(state, 0):
            path[1:1] = ["pick_up", "reset", "resubmit"]
        elif state == Claim.Status.WITHDRAWN and self.rng.random() < 0.5:
            path = ["submit", "pick_up", "reset", "withdraw"]
        return path

    def _steps(self, names, times, filer):
        """The steps with their parameters, reviewers and reasons."""
        steps, reviewer = [], None
        for name, at in zip(names, times, strict=True):
            if name == "pick_up":
                reviewer = self.rng.choice(self.reviewers)
            actor = {
                "submit": filer,
                "resubmit": filer,
                "withdraw": filer,
                "cancel": filer,
                "send_to_check": None,
                "expire": None,
            }.get(name, reviewer)
            params = {"at": at}
            if name in ("pick_up", "approve", "reset", "reject"):
                params["by"] = actor
            if name == "send_to_check":
                params = {}
            codes, reason = [], ""
            if name in ("reset", "reject"):
                code, reason = self.rng.choice(RESET_REASONS if name == "reset" else REJECT_REASONS)
                codes = [code]
            elif name == "approve" and self.rng.random() < 0.3:
                reason = "资料齐全"
            steps.append(DemoStep(name, at, actor, params, codes, reason))
        return steps

    def _vin(self, model_code, year) -> str:
        body = f"LFV{VIN_MODEL.get(model_code, '9Z9ZZ')}0{VIN_YEAR.get(year, 'T')}C"
        body += f"{next(self.serial):06d}"
        return body[:8] + vin_check_digit(body) + body[9:]

    def _preapplication(self, *, dealer, account, model_code, names, created, times):
        rule = self._rule("FLEET-KA", timezone.localdate(created))
        steps = self._steps(names, times, self.filer)
        for step in steps:
            if step.name == "approve":
                valid = timezone.localdate(step.at) + datetime.timedelta(days=rule.validity_days)
                step.params["valid_until"] = valid
        eligible = [row["model"] for row in rule.eligible_models]
        codes = [model_code or self.rng.choice(eligible)]
        codes += self.rng.sample([code for code in eligible if code != codes[0]], 2)[
            : self.rng.choice([0, 1, 1, 2])
        ]
        delivery = timezone.localdate(times[-1] if times else created) + datetime.timedelta(days=30)
        record = self.history.record(
            PreApplication,
            created_at=created,
            created_by=self.filer,
            steps=steps,
            dealer=dealer,
            program=self.programs["FLEET-KA"],
            rule=rule,
            customer_kind=CustomerKind.CORPORATE,
            corporate_account=account,
            lines=[{"model": code, "units": self.rng.randint(4, 15)} for code in codes],
            delivery_month=delivery.replace(day=1),
        )
        record.claims_taken = 0
        return record

    def _sold_under(self, dealer, account, eligible, invoice_date, created):
        """(pre-application, vehicle model) for a fleet sale to `account`: an approved
        pre-application of the dealer's with units left, made when there is none (approved
        some days before the invoice)."""
        for record in self.fleet[dealer.pk]:
            models = [line["model"] for line in record.lines if line["model"] in eligible]
            if (
                record.corporate_account is account
                and timezone.localdate(record.decided_at) < invoice_date
                and record.valid_until >= timezone.localdate(created)
                and record.claims_taken < record.units
                and models
            ):
                record.claims_taken += 1
                return record, self.rng.choice(models)
        invoiced = timezone.make_aware(datetime.datetime.combine(invoice_date, datetime.time(9)))
        decided = demo_office_hours(
            invoiced - datetime.timedelta(hours=self.rng.uniform(24, 45 * 24))
        )
        names = ["submit", "approve"]
        created, times = self._times(names, decided)
        expired = self._expiry(decided)
        if expired is not None:
            names, times = [*names, "expire"], [*times, expired]
        rule = self._rule("FLEET-KA", timezone.localdate(created))
        models = [row["model"] for row in rule.eligible_models if row["model"] in eligible]
        record = self._preapplication(
            dealer=dealer,
            account=account,
            model_code=self.rng.choice(models),
            names=names,
            created=created,
            times=times,
        )
        record.claims_taken = 1
        self.fleet[dealer.pk].append(record)
        return record, record.lines[0]["model"]

    def _claim(self, *, dealer, state, code, accounts, employees):
        names = self._claim_path(state)
        created, times = self._times(names, self._anchor(state))
        invoice_date = timezone.localdate(created) - datetime.timedelta(
            days=self.rng.randint(0, 10)
        )
        rule = self._rule(code, invoice_date)
        eligible = [row["model"] for row in rule.eligible_models]
        model_code = self.rng.choices(eligible, weights=[5, 3, 4, 2, 2, 1][: len(eligible)])[0]
        values = {"buyer_id_number": "", "buyer_credit_code": "", "pre_application": None}
        if code == "EMPLOYEE":
            person = employees.pop()
            values.update(
                customer_kind=CustomerKind.INDIVIDUAL,
                buyer_name=person.customer_name,
                buyer_id_number=person.id_number,
            )
        else:
            account = self.rng.choice(accounts)
            values.update(
                customer_kind=CustomerKind.CORPORATE,
                corporate_account=account,
                buyer_name=account.company_name,
                buyer_credit_code=account.credit_code,
            )
            if code == "FLEET-KA":
                values["pre_application"], model_code = self._sold_under(
                    dealer, account, eligible, invoice_date, created
                )
        model = self.models[model_code]
        price = model.msrp * Decimal(str(round(self.rng.uniform(0.86, 0.99), 3)))
        return self.history.record(
            Claim,
            created_at=created,
            created_by=self.filer,
            steps=self._steps(names, times, self.filer),
            dealer=dealer,
            program=self.programs[code],
            rule=rule,
            vin=self._vin(model_code, invoice_date.year),
            vehicle_model=model,
            invoice_number=f"{invoice_date:%y}31{next(self.serial):016d}",
            invoice_date=invoice_date,
            invoice_amount=price.quantize(Decimal("100")).quantize(Decimal("0.01")),
            delivery_date=min(
                invoice_date + datetime.timedelta(days=self.rng.randint(0, 3)),
                timezone.localdate(created),
            ),
            support_amount=rule.support_amount(model_code),
            **values,
        )

    def _refiled(self, claims) -> list[Claim]:
        """A few vehicles filed again after their claim was withdrawn or rejected (the same
        VIN and invoice, so both claims are flagged): one live claim per VIN at a time."""
        refiled = []
        closed = [
            claim
            for claim in claims
            if claim.status in (Claim.Status.WITHDRAWN, Claim.Status.REJECTED)
            and claim.invoice_date >= self.today - datetime.timedelta(days=40)
            and claim.closed_at < self.now - datetime.timedelta(days=2)
        ]
        for first in closed[:3]:
            last = first.closed_at + (self.now - first.closed_at) * self.rng.uniform(0.5, 1)
            submitted = demo_office_hours(last)
            created = max(
                demo_office_hours(submitted - datetime.timedelta(hours=self.rng.uniform(0.3, 8))),
                first.closed_at + datetime.timedelta(minutes=10),
            )
            copied = {
                name: getattr(first, name)
                for name in (
                    "dealer",
                    "program",
                    "rule",
                    "pre_application",
                    "customer_kind",
                    "corporate_account",
                    "vin",
                    "vehicle_model",
                    "invoice_number",
                    "invoice_date",
                    "invoice_amount",
                    "buyer_name",
                    "buyer_id_number",
                    "buyer_credit_code",
                    "delivery_date",
                    "support_amount",
                )
            }
            refiled.append(
                self.history.record(
                    Claim,
                    created_at=created,
                    created_by=self.filer,
                    steps=self._steps(["submit"], [submitted], self.filer),
                    **copied,
                )
            )
        return refiled

    def _duplicates(self, claims) -> dict:
        """Two invoice numbers on a second dealer's claim too, and one invoice scan sent on two
        dealers' claims: {id of a claim: the claim whose invoice scan it carries}."""
        waiting = [c for c in claims if c.status in (*Claim.QUEUE_STATES, Claim.Status.IN_REVIEW)]
        pairs, paired = [], set()
        for first in waiting:
            second = next(
                (c for c in waiting if c.dealer is not first.dealer and id(c) not in paired),
                None,
            )
            if second is not None and id(first) not in paired:
                pairs.append((first, second))
                paired |= {id(first), id(second)}
            if len(pairs) == 3:
                break
        for first, second in pairs[:2]:
            second.invoice_number = first.invoice_number
        return {id(second): first for first, second in pairs[2:]}

    def _claim_documents(self, claims, same_scan) -> None:
        contract = {"LEASE": "Leasing contract (demo)", "FLEET-KA": "Fleet sales contract (demo)"}
        for claim in claims:
            uploaded = claim.created_at + datetime.timedelta(minutes=self.rng.randint(2, 40))
            source = same_scan.get(id(claim), claim)
            scan = demo_scan(
                "发票.png",
                "VAT invoice (demo)",
                f"No. {source.invoice_number}  {source.invoice_date}",
                f"VIN {source.vin}  CNY {source.invoice_amount}",
            )
            self.history.document(claim, "invoice", scan, at=uploaded, actor=self.filer)
            code = claim.program.code
            if code in contract and (claim.status != Claim.Status.DRAFT or self.rng.random() < 0.5):
                scan = demo_scan(
                    "合同.png", contract[code], f"{claim.buyer_credit_code}  VIN {claim.vin}"
                )
                self.history.document(claim, "contract", scan, at=uploaded, actor=self.filer)

    def _flags(self, claims, same_scan) -> None:
        """The duplicate flags the services would have set: another claim with the invoice
        number, or with the same file (a copied invoice scan, a vehicle filed again)."""
        numbers = Counter(claim.invoice_number for claim in claims)
        numbers.update(Claim.objects.values_list("invoice_number", flat=True))

        def scanned(claim):  # what the invoice scan shows, so equal for the same file
            source = same_scan.get(id(claim), claim)
            return source.invoice_number, source.invoice_date, source.vin, source.invoice_amount

        scans = Counter(scanned(claim) for claim in claims)
        for claim in claims:
            claim.duplicate_invoice = numbers[claim.invoice_number] > 1
            claim.duplicate_document = scans[scanned(claim)] > 1

    # Pre-applications not behind a claim ------------------------------------------------------

    def _other_preapplication(self, *, dealer, state, customers):
        names = PREAPPLICATION_PATHS[state]
        if state == PreApplication.Status.EXPIRED:  # approved over its validity ago
            decided = demo_office_hours(self._ago(182, 200))
            created, times = self._times(names[:2], decided)
            times.append(self._expiry(decided))
        else:
            anchor = {
                PreApplication.Status.APPROVED: lambda: demo_office_hours(self._ago(0, 40)),
                PreApplication.Status.REJECTED: lambda: demo_office_hours(
                    self._ago(2, HISTORY_DAYS)
                ),
            }.get(state, lambda: self._anchor(state))()
            created, times = self._times(names, anchor)
        return self._preapplication(
            dealer=dealer,
            account=self.rng.choice(customers["accounts"]),
            model_code=None,
            names=names,
            created=created,
            times=times,
        )

    # All of it -------------------------------------------------------------------------------

    def create(self, records: int) -> None:
        dealer_ids = [self.users["dealer"].dealer_id, self.users["dealer2"].dealer_id]
        dealers = list(
            Dealer.objects.filter(status=Dealer.Status.ACTIVE)
            .exclude(pk__in=dealer_ids)
            .order_by("code")
        )
        if not dealers or records <= 0 or len(self.programs) != len(CLAIM_PROGRAMS):
            return
        claim_count = round(records * CLAIM_SHARE)
        # A few big dealers, many small ones.
        weights = [1 / (rank + 1) ** 0.6 for rank in range(len(dealers))]
        self.rng.shuffle(weights)
        states = list(CLAIM_STATES)
        plans = [
            (
                self.rng.choices(dealers, weights=weights)[0],
                states[index]
                if index < len(states)  # every state, however few the records
                else self.rng.choices(states, weights=CLAIM_STATES.values())[0],
                self.rng.choices(list(CLAIM_PROGRAMS), weights=CLAIM_PROGRAMS.values())[0],
            )
            for index in range(claim_count)
        ]
        customers = customers_demo(
            dealers=dealers,
            employees=Counter(dealer.pk for dealer, _state, code in plans if code == "EMPLOYEE"),
            filer=self.filer,
            reviewer=self.users["ops"],
            checker=self.users["vendor"],
            # before the oldest pre-application: a claim's, filed weeks before its invoice
            before=self.now - datetime.timedelta(days=HISTORY_DAYS + 75),
            rng=self.rng,
            history=self.history,
        )
        self.fleet = {dealer.pk: [] for dealer in dealers}
        employees = {pk: list(found["qualifications"]) for pk, found in customers.items()}
        claims = [
            self._claim(
                dealer=dealer,
                state=state,
                code=code,
                accounts=customers[dealer.pk]["accounts"],
                employees=employees[dealer.pk],
            )
            for dealer, state, code in plans
        ]
        claims += self._refiled(claims)
        same_scan = self._duplicates(claims)
        self._flags(claims, same_scan)
        preapplications = [record for found in self.fleet.values() for record in found]
        states = list(PREAPPLICATION_STATES)
        for index in range(max(len(states), records - len(claims) - len(preapplications))):
            dealer = self.rng.choices(dealers, weights=weights)[0]
            state = (
                states[index]
                if index < len(states)
                else self.rng.choices(states, weights=PREAPPLICATION_STATES.values())[0]
            )
            preapplications.append(
                self._other_preapplication(
                    dealer=dealer, state=state, customers=customers[dealer.pk]
                )
            )
        with demo_times_kept(PreApplication, Claim):
            PreApplication.objects.bulk_create(preapplications, batch_size=500)
            Claim.objects.bulk_create(claims, batch_size=500)
        for record in preapplications:
            account = record.corporate_account
            scan = demo_scan("营业执照.png", "Business licence (demo)", account.credit_code)
            uploaded = record.created_at + datetime.timedelta(minutes=5)
            self.history.document(record, "business_licence", scan, at=uploaded, actor=self.filer)
        self._claim_documents(claims, same_scan)
        self.history.write()
