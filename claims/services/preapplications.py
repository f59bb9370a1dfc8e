"""Pre-applications: drafts, documents, decisions, the entitlement an approval takes, the
quota check the quota issue fills, expiry."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import CustomerKind, PreApplication
from claims.services.common import (
    _collect,
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
from dealers.models import Dealer
from programs.selectors import (
    qualification_approved_for,
)
from programs.services import application_entitlement_consume, application_entitlement_release
from ssa_ops.audit import audit_record, field_changes
from ssa_ops.validation import model_text_clean, resident_id_clean, text_clean
from ssa_ops.workflow import lock_for_update, transition_perform, transition_run

# Pre-applications -------------------------------------------------------------------------------


def _lines_clean(value) -> list[dict]:
    if not isinstance(value, list) or not value or len(value) > 20:
        raise ValidationError(_("Give 1 to 20 lines of model and units."), code="invalid")
    lines = {}
    for row in value:
        if not isinstance(row, dict):
            raise ValidationError(_("Give each line as a model and units."), code="invalid")
        code = text_clean(row.get("model"), max_length=30, required=True)
        units = row.get("units")
        if isinstance(units, bool) or not isinstance(units, int) or not 0 < units <= 1000:
            raise ValidationError(_("Units are a whole number from 1 to 1000."), code="invalid")
        lines[code] = lines.get(code, 0) + units
    return [{"model": code, "units": units} for code, units in lines.items()]


def _month(value) -> datetime.date:
    if isinstance(value, str) and len(value.strip()) == 7:
        value = value.strip() + "-01"
    return _date(value).replace(day=1)


PREAPPLICATION_CLEANERS = {
    "program": _id_reference,
    "lines": _lines_clean,
    "delivery_month": _month,
    "customer_name": lambda v: model_text_clean(PreApplication, "customer_name", v),
    "customer_id_number": lambda v: resident_id_clean(v) if v not in (None, "") else "",
}


def _preapplication_values(*, dealer, values) -> dict:
    cleaned = _collect(PREAPPLICATION_CLEANERS, values)
    program = _program(cleaned.pop("program"))
    rule = _rule(program, _today())
    try:
        _models_eligible(rule, [line["model"] for line in cleaned["lines"]])
    except ValidationError as error:
        raise ValidationError({"lines": error}) from None
    customer = _customer(program=program, dealer=dealer, values=values, on_date=_today())
    if customer["customer_kind"] == CustomerKind.INDIVIDUAL:
        if not cleaned["customer_name"] or not cleaned["customer_id_number"]:
            raise ValidationError(
                {"customer_id_number": _("Give the customer's name and ID number.")}
            )
        if (
            qualification_approved_for(
                program_id=program.pk, id_number=cleaned["customer_id_number"]
            )
            is None
        ):
            raise ValidationError(
                {"customer_id_number": _("This customer has no approved qualification.")}
            )
    return {"program": program, "rule": rule, **customer, **cleaned}


def preapplication_create(*, actor, dealer: Dealer, values: dict) -> PreApplication:
    """A dealer files a pre-application as a draft."""
    cleaned = _preapplication_values(dealer=dealer, values=values)
    with transaction.atomic():
        record = PreApplication.objects.create(dealer=dealer, created_by=actor, **cleaned)
        audit_record(actor=actor, obj=record, action="create", to_state=record.status)
    return record


@transaction.atomic
def preapplication_update(*, actor, pk, values: dict) -> PreApplication:
    """The dealer edits a draft, or a pre-application reset to it, before (re)submitting."""
    record = lock_for_update(PreApplication.objects.select_related("dealer"), pk)
    _editable(record)
    cleaned = _preapplication_values(dealer=record.dealer, values=values)
    changes = field_changes(record, cleaned)
    for name, value in cleaned.items():
        setattr(record, name, value)
    record.save()
    audit_record(actor=actor, obj=record, action="update", changes=changes)
    return record


@transaction.atomic
def preapplication_documents_add(*, actor, pk, purpose, documents) -> PreApplication:
    record = lock_for_update(PreApplication.objects.select_related("rule"), pk)
    _documents_add(record, actor=actor, purpose=purpose, documents=documents)
    return record


_PREAPPLICATIONS = PreApplication.objects.select_related("dealer", "rule", "program")


def preapplication_submit(*, actor, pk) -> PreApplication:
    return transition_run(
        queryset=_PREAPPLICATIONS, pk=pk, name="submit", actor=actor, params={"at": timezone.now()}
    )


def preapplication_resubmit(*, actor, pk) -> PreApplication:
    return transition_run(
        queryset=_PREAPPLICATIONS,
        pk=pk,
        name="resubmit",
        actor=actor,
        params={"at": timezone.now()},
    )


def preapplication_quota_check(*, preapplication: PreApplication) -> None:
    """Where the regional quota will be checked before a pre-application is approved (the
    quota issue fills this in: it will raise ApplicationError when the dealer's region has no
    units left for the program and models). Today every approval is allowed."""
    return None


def preapplication_approve(*, actor, pk, reason="") -> PreApplication:
    """Approve: the quota is checked, and the special sales application's entitlement (if the
    customer is one) is taken for the units, all in the approval's transaction."""
    with transaction.atomic():
        current = PreApplication.objects.select_related("rule").get(pk=pk)
        preapplication_quota_check(preapplication=current)
        record = transition_run(
            queryset=_PREAPPLICATIONS,
            pk=pk,
            name="approve",
            actor=actor,
            reason=reason,
            params={
                "by": actor,
                "at": timezone.now(),
                "valid_until": _today() + datetime.timedelta(days=current.rule.validity_days),
            },
        )
        if record.special_application_id:
            application_entitlement_consume(
                application_id=record.special_application_id,
                units=record.units,
                by_record=record,
                actor=actor,
            )
        _notify_dealer(record, reason=reason)
    return record


def _preapplication_decide(name, *, actor, pk, reasons, reason="") -> PreApplication:
    with transaction.atomic():
        record = transition_run(
            queryset=_PREAPPLICATIONS,
            pk=pk,
            name=name,
            actor=actor,
            reason=reason,
            reasons=reasons,
            params={"by": actor, "at": timezone.now()},
        )
        _notify_dealer(record, reason=reason, reasons=reasons)
    return record


def preapplication_reset(*, actor, pk, reasons, reason="") -> PreApplication:
    return _preapplication_decide("reset", actor=actor, pk=pk, reasons=reasons, reason=reason)


def preapplication_reject(*, actor, pk, reasons, reason="") -> PreApplication:
    return _preapplication_decide("reject", actor=actor, pk=pk, reasons=reasons, reason=reason)


def preapplication_cancel(*, actor, pk, reason="") -> PreApplication:
    """Cancel an approved pre-application; the entitlement it took is given back."""
    with transaction.atomic():
        record = transition_run(
            queryset=_PREAPPLICATIONS,
            pk=pk,
            name="cancel",
            actor=actor,
            reason=reason,
            params={"at": timezone.now()},
        )
        if record.special_application_id:
            application_entitlement_release(
                application_id=record.special_application_id, by_record=record, actor=actor
            )
    return record


def preapplications_expire(*, today=None) -> int:
    """Approved pre-applications whose validity has passed expire (a daily task); each gives
    back its entitlement. Returns how many."""

    today = today or _today()
    expired = 0
    due = PreApplication.objects.filter(
        status=PreApplication.Status.APPROVED, valid_until__lt=today
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            record = lock_for_update(PreApplication.objects.all(), pk)
            if record.status != PreApplication.Status.APPROVED:
                continue
            transition_perform(record.expire, actor=None, params={"at": timezone.now()})
            if record.special_application_id:
                application_entitlement_release(
                    application_id=record.special_application_id, by_record=record
                )
            expired += 1
    return expired
