"""Claims: drafts with the support amount of the rule in force on the invoice date,
documents, duplicate flags, one live claim per VIN, and one service per transition."""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Claim, CustomerKind, PreApplication
from claims.selectors import claim_next_for
from claims.services.common import (
    _amount,
    _collect,
    _credit_code,
    _customer,
    _date,
    _documents_add,
    _editable,
    _id_reference,
    _models_eligible,
    _notify_dealer,
    _program,
    _rule,
    _today,
)
from claims.services.invoice_check import invoice_checks_compare, invoice_checks_start
from dealers.models import Dealer
from programs.models import CorporateAccount
from programs.selectors import (
    qualification_approved_for,
)
from ssa_ops.attachments import attachments_with_same_content
from ssa_ops.audit import audit_record, field_changes
from ssa_ops.errors import ApplicationError
from ssa_ops.models import Attachment
from ssa_ops.personal_data_crypto import personal_hash
from ssa_ops.validation import model_text_clean, resident_id_clean, text_clean, vin_clean
from ssa_ops.workflow import lock_for_update, transition_run, transition_run_each

# Claims -----------------------------------------------------------------------------------------

CLAIM_CLEANERS = {
    "program": _id_reference,
    "vin": vin_clean,
    "vehicle_model": lambda v: text_clean(v, max_length=30, required=True),
    "invoice_number": lambda v: model_text_clean(Claim, "invoice_number", v).upper(),
    "invoice_date": _date,
    "invoice_amount": _amount,
    "buyer_name": lambda v: model_text_clean(Claim, "buyer_name", v, required=True),
    "buyer_id_number": lambda v: resident_id_clean(v) if v not in (None, "") else "",
    "buyer_credit_code": lambda v: _credit_code(v) if v not in (None, "") else "",
    "delivery_date": _date,
    "pre_application": lambda v: _id_reference(v, required=False),
}


class VinClaimed(ApplicationError):
    """Another live or approved claim holds the vehicle: a conflict with that record (409)."""

    code = "vin_claimed"
    status_code = 409


def _vin_free(vin: str, *, exclude_pk=None) -> None:
    """Refuse a VIN a live or approved claim holds, whichever dealer filed it (the other
    dealer's claim is not named)."""
    taken = (
        Claim.objects.filter(vin=vin)
        .exclude(status__in=Claim.VIN_FREE_STATES)
        .exclude(pk=exclude_pk)
        .exists()
    )
    if taken:
        raise VinClaimed(
            _("Vehicle %(vin)s is already claimed: one vehicle, one claim.") % {"vin": vin}
        )


def _claim_values(*, dealer: Dealer, values: dict, exclude_pk=None) -> dict:
    cleaned = _collect(CLAIM_CLEANERS, values)
    program = _program(cleaned.pop("program"))
    invoice_date = cleaned["invoice_date"]
    if invoice_date > _today():
        raise ValidationError({"invoice_date": _("The invoice date cannot be in the future.")})
    if cleaned["delivery_date"] < invoice_date - datetime.timedelta(days=366):
        raise ValidationError({"delivery_date": _("The delivery date is far before the invoice.")})
    rule = _rule(program, invoice_date)
    try:
        models_found = _models_eligible(rule, [cleaned["vehicle_model"]])
    except ValidationError as error:
        raise ValidationError({"vehicle_model": error}) from None
    vehicle_model = models_found.get(cleaned["vehicle_model"])
    if vehicle_model is None:
        raise ValidationError({"vehicle_model": _("Choose a vehicle model.")})
    customer = _customer(program=program, dealer=dealer, values=values, on_date=invoice_date)
    kind = customer["customer_kind"]
    if kind == CustomerKind.CORPORATE:
        account: CorporateAccount = customer["corporate_account"]
        if cleaned["buyer_credit_code"] and cleaned["buyer_credit_code"] != account.credit_code:
            raise ValidationError(
                {"buyer_credit_code": _("The buyer's credit code is not the account's.")}
            )
        cleaned["buyer_credit_code"] = account.credit_code
        cleaned["buyer_id_number"] = ""
    else:
        if not cleaned["buyer_id_number"]:
            raise ValidationError({"buyer_id_number": _("Give the buyer's ID number.")})
        cleaned["buyer_credit_code"] = ""
        if kind == CustomerKind.APPLICATION:
            application = customer["special_application"]
            if application.id_number_hash != personal_hash("id_number", cleaned["buyer_id_number"]):
                raise ValidationError(
                    {"buyer_id_number": _("The buyer is not the application's applicant.")}
                )
        elif (
            qualification_approved_for(program_id=program.pk, id_number=cleaned["buyer_id_number"])
            is None
        ):
            raise ValidationError(
                {"buyer_id_number": _("This buyer has no approved qualification.")}
            )
    pre_application = None
    pre_application_id = cleaned.pop("pre_application")
    if rule.pre_application_required or pre_application_id:
        pre_application = PreApplication.objects.filter(
            pk=pre_application_id,
            dealer=dealer,
            program=program,
            status=PreApplication.Status.APPROVED,
            valid_until__gte=invoice_date,
        ).first()
        if pre_application is None:
            raise ValidationError(
                {
                    "pre_application": _(
                        "This program needs an approved pre-application valid on the invoice date."
                    )
                }
            )
        if vehicle_model.code not in {line["model"] for line in pre_application.lines} or (
            pre_application.corporate_account_id
            != getattr(customer["corporate_account"], "pk", None)
            or pre_application.special_application_id
            != getattr(customer["special_application"], "pk", None)
        ):
            raise ValidationError(
                {
                    "pre_application": _(
                        "The pre-application is for another customer or other models."
                    )
                }
            )
    _vin_free(cleaned["vin"], exclude_pk=exclude_pk)
    return {
        **cleaned,
        **customer,
        "program": program,
        "rule": rule,
        "vehicle_model": vehicle_model,
        "pre_application": pre_application,
        "support_amount": rule.support_amount(vehicle_model.code),
    }


def _flags_refresh(*, invoice_numbers=(), claim_ids=()) -> None:
    """Set or clear the duplicate flags of the claims of these invoice numbers and ids: a flag
    stands while another claim has the same invoice number, or the same file."""
    affected = set(claim_ids)
    affected |= set(
        Claim.objects.filter(invoice_number__in=list(invoice_numbers)).values_list("pk", flat=True)
    )
    claim_type = ContentType.objects.get_for_model(Claim)
    # In pk order, the order bulk decisions lock claims in.
    for claim in Claim.objects.filter(pk__in=affected).only("pk", "invoice_number").order_by("pk"):
        same_invoice = (
            Claim.objects.filter(invoice_number=claim.invoice_number).exclude(pk=claim.pk).exists()
        )
        hashes = Attachment.objects.filter(
            content_type=claim_type, object_id=str(claim.pk)
        ).values_list("sha256", flat=True)
        same_file = (
            Attachment.objects.filter(content_type=claim_type, sha256__in=list(hashes))
            .exclude(object_id=str(claim.pk))
            .exists()
        )
        Claim.objects.filter(pk=claim.pk).update(
            duplicate_invoice=same_invoice, duplicate_document=same_file
        )


def claim_create(*, actor, dealer: Dealer, values: dict) -> Claim:
    """A dealer files a claim as a draft; the support amount comes from the rule in force on
    the invoice date. Another claim of the same invoice number flags both."""
    cleaned = _claim_values(dealer=dealer, values=values)
    with transaction.atomic():
        claim = Claim.objects.create(dealer=dealer, created_by=actor, **cleaned)
        audit_record(actor=actor, obj=claim, action="create", to_state=claim.status)
        _flags_refresh(invoice_numbers=[claim.invoice_number])
    claim.refresh_from_db()
    return claim


@transaction.atomic
def claim_update(*, actor, pk, values: dict) -> Claim:
    """The dealer edits a draft, or a claim reset to it; the support amount is worked out again
    from the rule in force on the (new) invoice date."""
    claim = lock_for_update(Claim.objects.select_related("dealer"), pk)
    _editable(claim)
    before = claim.invoice_number
    cleaned = _claim_values(dealer=claim.dealer, values=values, exclude_pk=pk)
    changes = field_changes(claim, cleaned)
    for name, value in cleaned.items():
        setattr(claim, name, value)
    claim.save()
    audit_record(actor=actor, obj=claim, action="update", changes=changes)
    _flags_refresh(invoice_numbers=[before, claim.invoice_number])
    invoice_checks_compare(claim)
    claim.refresh_from_db()
    return claim


@transaction.atomic
def claim_documents_add(*, actor, pk, purpose, documents) -> Claim:
    """Attach evidence for one document of the rule's checklist (`purpose` is its code) while
    the claim is a draft or reset; a file another claim already holds flags both."""
    claim = lock_for_update(Claim.objects.select_related("rule"), pk)
    created = _documents_add(claim, actor=actor, purpose=purpose, documents=documents)
    invoice_checks_start(claim, created)
    claim_type = ContentType.objects.get_for_model(Claim)
    others = set()
    for attachment in created:
        others |= {
            int(other.object_id)
            for other in attachments_with_same_content(attachment).filter(content_type=claim_type)
            if other.object_id != str(claim.pk)
        }
    if others:
        _flags_refresh(claim_ids=[claim.pk, *others])
    claim.refresh_from_db()
    return claim


_CLAIMS = Claim.objects.select_related("dealer", "rule", "program")
# Picking up and deciding have no conditions that read related rows (four eyes reads
# created_by_id): locking without the joins halves the Python of a decision (bulk decisions).
_DECIDING = Claim.objects.all()


def claim_submit(*, actor, pk) -> Claim:
    """Submit within the claim window with every document of the checklist (else refused,
    naming what is missing); a VIN another live claim holds is refused, also when two claims
    of one VIN are submitted at the same moment (the database's unique constraint decides)."""
    claim = Claim.objects.get(pk=pk)
    _vin_free(claim.vin, exclude_pk=pk)
    try:
        with transaction.atomic():
            return transition_run(
                queryset=_CLAIMS, pk=pk, name="submit", actor=actor, params={"at": timezone.now()}
            )
    except IntegrityError:
        _vin_free(claim.vin, exclude_pk=pk)
        raise


def claim_resubmit(*, actor, pk) -> Claim:
    """The dealer answers a reset: the claim goes back into the queue."""
    return transition_run(
        queryset=_CLAIMS, pk=pk, name="resubmit", actor=actor, params={"at": timezone.now()}
    )


def claim_pick_up(*, actor, pk) -> Claim:
    return transition_run(
        queryset=_DECIDING,
        pk=pk,
        name="pick_up",
        actor=actor,
        params={"by": actor, "at": timezone.now()},
    )


def claim_take_next(*, actor) -> Claim | None:
    """Pick up the claim that has waited longest which the user may decide; None when the
    queue is empty. Two users taking next at once get different claims (a claim picked up
    meanwhile is skipped)."""
    from ssa_ops.errors import TransitionNotAllowed

    for _attempt in range(5):
        claim = claim_next_for(user=actor)
        if claim is None:
            return None
        try:
            return claim_pick_up(actor=actor, pk=claim.pk)
        except TransitionNotAllowed:
            continue
    return None


def claim_approve(*, actor, pk, reason="", notify=True) -> Claim:
    """`notify=False`: the dealer is told by the caller (a bulk decision's one email per
    dealer)."""
    with transaction.atomic():
        claim = transition_run(
            queryset=_DECIDING,
            pk=pk,
            name="approve",
            actor=actor,
            reason=reason,
            params={"by": actor, "at": timezone.now()},
        )
        if notify:
            _notify_dealer(claim, reason=reason)
    return claim


def _claim_decide(name, *, actor, pk, reasons, reason="", notify=True) -> Claim:
    with transaction.atomic():
        claim = transition_run(
            queryset=_DECIDING,
            pk=pk,
            name=name,
            actor=actor,
            reason=reason,
            reasons=reasons,
            params={"by": actor, "at": timezone.now()},
        )
        if notify:
            _notify_dealer(claim, reason=reason, reasons=reasons)
    return claim


def claims_decide_each(decision, *, actor, pks, reasons=(), reason="") -> tuple[dict, dict]:
    """Decide many claims in the surrounding transaction, each as claim_approve, claim_reset
    or claim_reject decides one, under its own row lock, checked and audited; a claim still
    waiting in the queue is picked up first. The dealer is not told here. Returns
    ({pk: claim} decided, {pk: refusal} left as they were)."""
    return transition_run_each(
        queryset=_DECIDING,
        pks=pks,
        steps=lambda claim: (
            ("pick_up", decision) if claim.status in Claim.QUEUE_STATES else (decision,)
        ),
        actor=actor,
        reason=reason,
        reasons=list(reasons),
        params={"by": actor, "at": timezone.now()},
    )


def claim_reset(*, actor, pk, reasons, reason="") -> Claim:
    return _claim_decide("reset", actor=actor, pk=pk, reasons=reasons, reason=reason)


def claim_reject(*, actor, pk, reasons, reason="") -> Claim:
    return _claim_decide("reject", actor=actor, pk=pk, reasons=reasons, reason=reason)


def claim_withdraw(*, actor, pk) -> Claim:
    return transition_run(
        queryset=_CLAIMS, pk=pk, name="withdraw", actor=actor, params={"at": timezone.now()}
    )
