"""Demo pre-applications and claims for `dealer` and `dealer2`, in every state, made through
the services (audited, with documents), with a few duplicate flags. Called once by seed_demo
after the programs demo; does nothing when claims exist already."""

import datetime
import io
import random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from claims import services
from claims.models import Claim, PreApplication
from programs.models import CorporateAccount, Program
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
    def claim(user, account, *, program, invoice_number=None, pre_application=None):
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
                "invoice_number": invoice_number or f"3100{number:08d}",
                "invoice_date": (today - datetime.timedelta(days=rng.randint(1, 30))).isoformat(),
                "invoice_amount": f"{rng.randint(180, 360) * 1000}.00",
                "buyer_name": account.company_name,
                "delivery_date": today.isoformat(),
            },
        )
        for code in rule.documents_for("claim"):
            services.claim_documents_add(
                actor=user, pk=record.pk, purpose=code, documents=[_scan(f"{code}.png", number)]
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
    # One invoice number on a claim of each dealer: both are flagged, neither dealer sees
    # the other's claim.
    for user in (users["dealer"], users["dealer2"]):
        account = approved_account(user)
        if account is not None:
            moved(user, account, Claim.Status.SUBMITTED, program=lease, invoice_number="31009999")
    # One settled month: last month's approved claims, one batch per dealer.
    services.settlement_run(actor=lead, month=last_month_end.date())
