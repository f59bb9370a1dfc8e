"""The invoice check: every invoice document of a claim is read by a task (the invoice
reader), compared with the claim field by field, and shown to ops, who accept a field or
override what was read, with a reason. The check flags; it never decides a claim."""

import datetime
from dataclasses import fields as dataclass_fields

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.invoice_reader.compare import invoice_compare
from claims.invoice_reader.fields import UNREADABLE, FieldReading, InvoiceReading
from claims.models import Claim, InvoiceCheck, InvoiceCheckResult
from ssa_ops.attachments import attachment_read
from ssa_ops.audit import audit_record
from ssa_ops.personal_values import mask
from ssa_ops.validation import text_clean
from ssa_ops.workflow import lock_for_update, transition_perform, transition_run

# The documents of a claim that are invoices (the program's checklist code).
INVOICE_PURPOSE = "invoice"
# A document that has killed its worker this many times ends unreadable.
MAX_ATTEMPTS = 3
# A reading left pending this long (a worker lost without redelivery) is queued again.
STALE_AFTER = datetime.timedelta(minutes=30)
REVIEW_ACTIONS = ("accept", "override")
# Worst first: the claim shows the worst of its invoice documents.
_SEVERITY = [
    InvoiceCheckResult.UNREADABLE,
    InvoiceCheckResult.MISMATCH,
    InvoiceCheckResult.NEEDS_REVIEW,
    InvoiceCheckResult.PENDING,
    InvoiceCheckResult.PASS,
]


def claim_invoice_values(claim: Claim) -> dict:
    """What the claim says, under the invoice's field names."""
    buyer_id = claim.buyer_credit_code or (
        claim.buyer_id_number.reveal() if claim.buyer_id_number else ""
    )
    return {
        "invoice_number": claim.invoice_number,
        "issue_date": claim.invoice_date,
        "buyer_name": claim.buyer_name,
        "buyer_id": buyer_id,
        # The seller on an invoice is the dealer's legal entity, not its trading name.
        "seller_name": claim.dealer.legal_entity or claim.dealer.name_zh,
        "seller_id": claim.dealer.credit_code,
        "vin": claim.vin,
        "total_amount": claim.invoice_amount,
    }


def _is_resident_id(value) -> bool:
    return bool(value) and len(value) == 18 and value[:17].isdigit()


def _masked(value):
    return mask("id_number", value) if _is_resident_id(value) else value


def _rounded(value):
    """Floats cut to 4 places: boxes and seconds need no more, and a long run of digits in a
    dump must not look like an ID number."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    return value


def _reading_stored(reading: InvoiceReading) -> tuple[dict, str]:
    """The reading as stored: the buyer's resident ID number masked, and kept whole apart."""
    details = _rounded(reading.details())
    buyer = details["fields"].get("buyer_id") or {}
    clear = buyer.get("value") or ""
    if _is_resident_id(clear):
        buyer["value"] = _masked(clear)
        return details, clear
    return details, ""


def _reading_loaded(check: InvoiceCheck) -> InvoiceReading:
    names = {f.name for f in dataclass_fields(InvoiceReading)} - {"fields"}
    stored = check.reading or {}
    reading = InvoiceReading(**{k: v for k, v in stored.items() if k in names})
    for name, values in (stored.get("fields") or {}).items():
        field = FieldReading(**values)
        if field.box is not None:
            field.box = tuple(field.box)
        if name == "buyer_id" and check.buyer_id_read:
            field.value = check.buyer_id_read.reveal()
        reading.fields[name] = field
    return reading


def _comparison_stored(check: InvoiceCheck, claim: Claim) -> dict:
    comparison = invoice_compare(_reading_loaded(check), claim_invoice_values(claim)).as_json()
    buyer = comparison["fields"].get("buyer_id")
    if buyer:
        buyer["claim"], buyer["invoice"] = _masked(buyer["claim"]), _masked(buyer["invoice"])
    return comparison


def _check_locked(check_id: int) -> InvoiceCheck | None:
    """The check, locked after its claim (the order editing a claim takes), so that writers of
    one claim's checks never deadlock and the claim's summary is never computed stale."""
    claim_id = InvoiceCheck.objects.filter(pk=check_id).values_list("claim_id", flat=True).first()
    if claim_id is None:
        return None
    lock_for_update(Claim.objects.all(), claim_id)
    return lock_for_update(InvoiceCheck.objects.select_related("claim__dealer"), check_id)


def _claim_summary_refresh(claim_id: int) -> None:
    """The claim's invoice check: the worst of its documents' (empty without any)."""
    results = set(InvoiceCheck.objects.filter(claim_id=claim_id).values_list("result", flat=True))
    worst = next((value for value in _SEVERITY if value in results), "")
    Claim.objects.filter(pk=claim_id).exclude(invoice_check=worst).update(invoice_check=worst)


def _other_claims(claim: Claim, reading: InvoiceReading) -> list[int]:
    """Other claims with the invoice number or the VIN this invoice says."""
    number, vin = reading.value("invoice_number"), reading.value("vin")
    lookup = Q()
    if number:
        lookup |= Q(invoice_number=number.upper())
    if vin:
        lookup |= Q(vin=vin.upper())
    if not lookup:
        return []
    return list(
        Claim.objects.filter(lookup)
        .exclude(pk=claim.pk)
        .order_by("pk")
        .values_list("pk", flat=True)[:20]
    )


# Starting, running and repeating a reading ----------------------------------------------------


def invoice_checks_start(claim: Claim, attachments) -> list[InvoiceCheck]:
    """A check per invoice document just uploaded, read by a task once the upload is
    committed."""
    checks = [
        InvoiceCheck.objects.create(claim=claim, attachment=attachment)
        for attachment in attachments
        if attachment.purpose == INVOICE_PURPOSE
    ]
    if checks:
        _claim_summary_refresh(claim.pk)
        _queue([check.pk for check in checks])
    return checks


def _queue(check_ids: list[int]) -> None:
    from claims.tasks import read_invoice_document

    for check_id in check_ids:
        transaction.on_commit(lambda check_id=check_id: read_invoice_document.delay(check_id))


def invoice_check_run(*, check_id: int) -> str:
    """Read one invoice document and compare it with its claim; returns the check's result.
    Idempotent: a check that is not pending (read already, or gone) is left as it is. The
    reading runs without a lock; only its recording locks the row."""
    with transaction.atomic():
        check = (
            InvoiceCheck.objects.select_for_update()
            .select_related("attachment")
            .filter(pk=check_id)
            .first()
        )
        if check is None or check.status != InvoiceCheck.Status.PENDING:
            return check.result if check else ""
        check.attempts += 1
        check.save(update_fields=["attempts", "updated_at"])
        attempts = check.attempts
    page_image = None
    if attempts > MAX_ATTEMPTS:
        reading = InvoiceReading(status=UNREADABLE, error="too_many_attempts")
    else:
        try:
            data = attachment_read(check.attachment)
        except OSError:
            reading = InvoiceReading(status=UNREADABLE, error="file_missing")
        else:
            from claims.invoice_reader import read_invoice  # OCR engines load on first use

            reading = read_invoice(data, check.attachment.original_name)
            page_image = _page_image(reading, data)
    return _reading_record(check_id, reading, page_image)


# The page image shown beside the fields, at most this wide.
PAGE_IMAGE_WIDTH = 1400


def _page_image(reading: InvoiceReading, data: bytes) -> bytes | None:
    """The page the fields' boxes refer to, as a JPEG: the image OCR read, or a PDF's first
    page when its text layer was read. None for an OFD (its fields carry no boxes)."""
    import io

    image = getattr(reading, "page_image", None)
    if image is None and reading.engine == "pdf-text":
        from claims.invoice_reader.text_layer import PdfUnreadable, render_pages

        try:
            image = render_pages(data, dpi=110)[0]
        except PdfUnreadable:
            return None
    if image is None:
        return None
    image = image.convert("RGB")
    if image.width > PAGE_IMAGE_WIDTH:
        height = round(image.height * PAGE_IMAGE_WIDTH / image.width)
        image = image.resize((PAGE_IMAGE_WIDTH, height))
    output = io.BytesIO()
    image.save(output, "JPEG", quality=80)
    return output.getvalue()


def _reading_record(check_id: int, reading: InvoiceReading, page_image=None) -> str:
    with transaction.atomic():
        check = _check_locked(check_id)
        if check is None:
            return ""  # its document was deleted meanwhile
        if check.status != InvoiceCheck.Status.PENDING:
            return check.result  # recorded meanwhile by another run of the task
        claim = check.claim
        now = timezone.now()
        check.engine = reading.engine[:40]
        check.seconds = round(reading.seconds, 3)
        check.invoice_type = reading.type
        check.reading, clear_id = _reading_stored(reading)
        check.buyer_id_read = clear_id
        check.reviews = {}
        if check.page_image:
            check.page_image.delete(save=False)
        if page_image:
            from django.core.files.base import ContentFile

            check.page_image.save(f"{check.pk}.jpg", ContentFile(page_image), save=False)
        if reading.status == UNREADABLE:
            check.comparison, check.other_claims = {}, []
            transition_perform(
                check.record_unreadable,
                actor=None,
                params={"at": now, "error": reading.error[:30] or "unreadable"},
            )
        else:
            check.comparison = _comparison_stored(check, claim)
            check.other_claims = _other_claims(claim, reading)
            transition_perform(check.record, actor=None, params={"at": now})
        check.result = check.result_now()
        check.save(update_fields=["result", "buyer_id_read", "page_image", "updated_at"])
        _claim_summary_refresh(claim.pk)
    return check.result


def invoice_check_rerun(*, actor, pk) -> InvoiceCheck:
    """Read the document again (ops): the new reading replaces the old, reviews included."""
    with transaction.atomic():
        _check_locked(pk)
        check = transition_run(
            queryset=InvoiceCheck.objects.all(), pk=pk, name="rerun", actor=actor
        )
        check.result = check.result_now()
        check.save(update_fields=["result", "updated_at"])
        _claim_summary_refresh(check.claim_id)
        _queue([check.pk])
    return check


def invoice_checks_requeue_stale() -> int:
    """Beat: readings left pending (their worker lost) are queued again; the attempt count
    ends a document that keeps killing workers."""
    stale = InvoiceCheck.objects.filter(
        status=InvoiceCheck.Status.PENDING, updated_at__lt=timezone.now() - STALE_AFTER
    ).values_list("pk", flat=True)[:1000]
    ids = list(stale)
    with transaction.atomic():
        InvoiceCheck.objects.filter(pk__in=ids).update(updated_at=timezone.now())
        _queue(ids)
    return len(ids)


def invoice_checks_compare(claim: Claim) -> None:
    """The claim's values changed: compare its readings again (no new reading); ops'
    reviews of a field whose claim value changed no longer hold."""
    for check_id in claim.invoice_checks.filter(status=InvoiceCheck.Status.READ).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            check = lock_for_update(InvoiceCheck.objects.select_related("claim__dealer"), check_id)
            before = check.comparison.get("fields") or {}
            check.comparison = _comparison_stored(check, check.claim)
            after = check.comparison.get("fields") or {}
            check.reviews = {
                name: review
                for name, review in check.reviews.items()
                if (before.get(name) or {}).get("claim") == (after.get(name) or {}).get("claim")
            }
            check.result = check.result_now()
            check.save(update_fields=["comparison", "reviews", "result", "updated_at"])
    _claim_summary_refresh(claim.pk)


# Ops' word on a field ---------------------------------------------------------------------------


def invoice_check_review(*, actor, pk, field, action, value="", reason="") -> InvoiceCheck:
    """Ops accept a compared field (the claim's value stands) or override what was read with
    what the invoice says; a reason is required for an override. Audited; the claim's
    invoice check follows."""
    if not actor.has_perm("claims.decide_claim"):
        from ssa_ops.errors import PermissionRefused

        raise PermissionRefused(_("You may not do this."), code="permission_denied")
    if action not in REVIEW_ACTIONS:
        raise ValidationError(
            {"action": _("Choose one of: %(choices)s.") % {"choices": ", ".join(REVIEW_ACTIONS)}}
        )
    reason = text_clean(reason, max_length=500)
    with transaction.atomic():
        check = _check_locked(pk)
        compared = (check.comparison.get("fields") or {}).get(field) if check else None
        if compared is None or check.status != InvoiceCheck.Status.READ:
            from ssa_ops.errors import TransitionNotAllowed

            raise TransitionNotAllowed(
                _("Only a field compared with the claim can be reviewed."), code="not_compared"
            )
        review = {"action": action, "by": actor.pk, "at": timezone.now().isoformat()}
        if action == "override":
            value = text_clean(value, max_length=200, required=True)
            if not reason:
                raise ValidationError({"reason": _("Say why the reading is overridden.")})
            from claims.invoice_reader.compare import normalize_value

            claim_value = claim_invoice_values(check.claim).get(field)
            review["value"] = _masked(value) if field == "buyer_id" else value
            review["matches"] = normalize_value(field, value) == normalize_value(field, claim_value)
        review["reason"] = reason
        before = check.reviews.get(field)
        check.reviews = {**check.reviews, field: review}
        check.result = check.result_now()
        check.save(update_fields=["reviews", "result", "updated_at"])
        audit_record(
            actor=actor,
            obj=check.claim,
            action=f"invoice_{action}",
            reason=reason,
            changes={"field": field, "before": before, "value": review.get("value")},
        )
        _claim_summary_refresh(check.claim_id)
    return check
