"""Every write about pre-applications and claims: drafts, documents, transitions, duplicate
flags, the entitlement a pre-application takes, and the dealer's emails."""

import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims.models import Claim, CustomerKind, PreApplication
from claims.selectors import claim_next_for
from dealers.credit_code import credit_code_problem
from dealers.models import CREDIT_CODE_MESSAGES, Dealer, DealerContact
from programs.models import CorporateAccount, Program, SpecialApplication, VehicleModel
from programs.selectors import (
    corporate_accounts_usable,
    program_rule_on,
    qualification_approved_for,
)
from programs.services import application_entitlement_consume, application_entitlement_release
from ssa_ops.attachments import attachments_create, attachments_with_same_content
from ssa_ops.audit import audit_record
from ssa_ops.errors import ApplicationError
from ssa_ops.models import Attachment, User
from ssa_ops.notifications import email_queue
from ssa_ops.personal_data_crypto import personal_hash
from ssa_ops.reasons import reason_labels
from ssa_ops.validation import model_text_clean, resident_id_clean, text_clean, vin_clean
from ssa_ops.workflow import lock_for_update, transition_perform, transition_run

MAX_UNITS_PER_LINE = 1000
MAX_AMOUNT = Decimal("100000000")


def _today() -> datetime.date:
    return timezone.localdate()


# Cleaning values --------------------------------------------------------------------------------


def _date(value) -> datetime.date:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if not isinstance(value, str):
        raise ValidationError(_("Enter a date as YYYY-MM-DD."), code="invalid_date")
    try:
        return datetime.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(_("Enter a date as YYYY-MM-DD."), code="invalid_date") from None


def _amount(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValidationError(_("Enter an amount in CNY, e.g. 250000.00."), code="invalid_type")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(
            _("Enter an amount in CNY, e.g. 250000.00."), code="invalid"
        ) from None
    if not amount.is_finite() or amount <= 0 or amount >= MAX_AMOUNT:
        raise ValidationError(_("Enter an amount above 0 and below 100,000,000 CNY."))
    return amount.quantize(Decimal("0.01"))


def _id_reference(value, *, required=True) -> int | None:
    """A record's id as given in values (an integer or its digits)."""
    if value in (None, "") and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(_("Choose one."), code="required")
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(_("Choose one."), code="invalid") from None
    if not 0 < number < 2**31:
        raise ValidationError(_("Choose one."), code="invalid")
    return number


def _credit_code(value) -> str:
    code = text_clean(value, max_length=18, required=True).upper()
    problem = credit_code_problem(code)
    if problem:
        raise ValidationError(CREDIT_CODE_MESSAGES[problem], code="credit_code_" + problem)
    return code


def _collect(cleaners: dict, values: dict) -> dict:
    """Each field through its cleaner; one ValidationError naming every field at fault."""
    if not isinstance(values, dict):
        raise ValidationError({"values": _("Give the values as an object.")})
    cleaned, errors = {}, {}
    for name, clean in cleaners.items():
        try:
            cleaned[name] = clean(values.get(name))
        except ValidationError as error:
            errors[name] = error
    if errors:
        raise ValidationError(errors)
    return cleaned


def _program(program_id) -> Program:
    program = Program.objects.filter(pk=program_id, is_active=True).first()
    if program is None:
        raise ValidationError({"program": _("Choose an active program.")})
    return program


def _rule(program: Program, on_date: datetime.date):
    rule = program_rule_on(program_id=program.pk, on_date=on_date)
    if rule is None:
        raise ApplicationError(
            _("Program %(program)s has no rules in force on %(date)s.")
            % {"program": program.code, "date": on_date.isoformat()},
            code="no_rule_in_force",
        )
    return rule


def customer_kind_for(program: Program) -> str:
    """Fleet and leasing sell to approved corporate accounts; associate, VIP and media to
    approved special sales applications; the corporate-employee program to named individuals
    with an approved qualification."""
    if program.type in (Program.Type.FLEET, Program.Type.LEASING):
        return CustomerKind.CORPORATE
    if program.type in Program.APPLICATION_TYPES:
        return CustomerKind.APPLICATION
    return CustomerKind.INDIVIDUAL


def _customer(*, program: Program, dealer: Dealer, values: dict, on_date) -> dict:
    """The customer fields of a pre-application or claim: the account or application named,
    usable by this dealer under this program; for an individual, an approved qualification."""
    kind = customer_kind_for(program)
    found = {
        "customer_kind": kind,
        "corporate_account": None,
        "special_application": None,
    }
    if kind == CustomerKind.CORPORATE:
        account_id = _id_reference(values.get("corporate_account"), required=False)
        account = corporate_accounts_usable(dealer_id=dealer.pk).filter(pk=account_id).first()
        if account is None:
            raise ValidationError(
                {"corporate_account": _("Choose one of your approved corporate accounts.")}
            )
        found["corporate_account"] = account
    elif kind == CustomerKind.APPLICATION:
        application_id = _id_reference(values.get("special_application"), required=False)
        application = SpecialApplication.objects.filter(
            pk=application_id,
            dealer=dealer,
            program=program,
            status=SpecialApplication.Status.APPROVED,
        ).first()
        if application is None:
            raise ValidationError(
                {
                    "special_application": _(
                        "Choose an approved special sales application of this program."
                    )
                }
            )
        if not (application.valid_from <= on_date <= application.valid_until):
            raise ValidationError(
                {
                    "special_application": _(
                        "Application %(number)s is valid from %(start)s to %(end)s."
                    )
                    % {
                        "number": application,
                        "start": application.valid_from.isoformat(),
                        "end": application.valid_until.isoformat(),
                    }
                }
            )
        found["special_application"] = application
    return found


def _models_eligible(rule, codes) -> dict[str, VehicleModel]:
    eligible = {row["model"] for row in rule.eligible_models}
    wrong = [code for code in codes if code not in eligible]
    if wrong:
        raise ValidationError(
            _("Not eligible under this program's rule: %(models)s.")
            % {"models": ", ".join(wrong)[:200]},
            code="model_not_eligible",
        )
    return {m.code: m for m in VehicleModel.objects.filter(code__in=codes)}


# Emails -----------------------------------------------------------------------------------------


def _special_sales_contacts(dealer_id) -> list[tuple[str, str]]:
    """(email, language) of the dealer's special-sales contacts; the language is that of the
    user with the same address, Chinese otherwise."""
    emails = list(
        DealerContact.objects.filter(dealer_id=dealer_id, role=DealerContact.Role.SPECIAL_SALES)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    languages = dict(
        User.objects.filter(email__in=emails, is_active=True).values_list("email", "language")
    )
    return [(email, languages.get(email, "zh-hans")) for email in dict.fromkeys(emails)]


def _notify_dealer(record, *, reason="", reasons=None) -> list:
    codes = list(reasons or [])
    return [
        email_queue(
            to=email,
            template="claims_record_status",
            context={
                "record": record,
                "kind": type(record)._meta.verbose_name,
                "comment": reason,
                # Called by the template while it renders, in the recipient's language.
                "reason_labels": lambda: reason_labels(codes),
            },
            language=language,
            related_object=record,
        )
        for email, language in _special_sales_contacts(record.dealer_id)
    ]


def _documents_add(record, *, actor, purpose, documents) -> list[Attachment]:
    if record.status not in type(record).EDITABLE_STATES:
        raise ApplicationError(
            _("Documents can be added only while it is a draft or reset to the dealer."),
            code="not_editable",
        )
    allowed = record.rule.documents_for(record.document_stage)
    purpose = text_clean(purpose, max_length=30)
    if purpose not in allowed:
        raise ValidationError(
            {
                "purpose": _("Choose one of the documents this program asks for: %(codes)s.")
                % {"codes": ", ".join(allowed) or "-"}
            }
        )
    created = attachments_create(owner=record, uploads=documents, actor=actor, purpose=purpose)
    for attachment in created:
        audit_record(actor=actor, obj=record, action="attach", reason=attachment.original_name)
    return created


def _editable(record):
    if record.status not in type(record).EDITABLE_STATES:
        raise ApplicationError(
            _("Only a draft or a record reset to the dealer can be edited."), code="not_editable"
        )


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
    for name, value in cleaned.items():
        setattr(record, name, value)
    record.save()
    audit_record(actor=actor, obj=record, action="update")
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
        raise ApplicationError(
            _("Vehicle %(vin)s is already claimed: one vehicle, one claim.") % {"vin": vin},
            code="vin_claimed",
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
    for claim in Claim.objects.filter(pk__in=affected).only("pk", "invoice_number"):
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
    for name, value in cleaned.items():
        setattr(claim, name, value)
    claim.save()
    audit_record(actor=actor, obj=claim, action="update")
    _flags_refresh(invoice_numbers=[before, claim.invoice_number])
    claim.refresh_from_db()
    return claim


@transaction.atomic
def claim_documents_add(*, actor, pk, purpose, documents) -> Claim:
    """Attach evidence for one document of the rule's checklist (`purpose` is its code) while
    the claim is a draft or reset; a file another claim already holds flags both."""
    claim = lock_for_update(Claim.objects.select_related("rule"), pk)
    created = _documents_add(claim, actor=actor, purpose=purpose, documents=documents)
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
        queryset=_CLAIMS,
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


def claim_approve(*, actor, pk, reason="") -> Claim:
    with transaction.atomic():
        claim = transition_run(
            queryset=_CLAIMS,
            pk=pk,
            name="approve",
            actor=actor,
            reason=reason,
            params={"by": actor, "at": timezone.now()},
        )
        _notify_dealer(claim, reason=reason)
    return claim


def _claim_decide(name, *, actor, pk, reasons, reason="") -> Claim:
    with transaction.atomic():
        claim = transition_run(
            queryset=_CLAIMS,
            pk=pk,
            name=name,
            actor=actor,
            reason=reason,
            reasons=reasons,
            params={"by": actor, "at": timezone.now()},
        )
        _notify_dealer(claim, reason=reason, reasons=reasons)
    return claim


def claim_reset(*, actor, pk, reasons, reason="") -> Claim:
    return _claim_decide("reset", actor=actor, pk=pk, reasons=reasons, reason=reason)


def claim_reject(*, actor, pk, reasons, reason="") -> Claim:
    return _claim_decide("reject", actor=actor, pk=pk, reasons=reasons, reason=reason)


RESET_NOT_ANSWERED = "RESET_NOT_ANSWERED"


def _reset_answer_days() -> int:
    return settings.CLAIM_RESET_ANSWER_DAYS


def claims_reset_remind(*, today=None) -> int:
    """Remind the dealer of resets due within CLAIM_RESET_REMIND_DAYS_BEFORE days, once per
    reset (a daily task). Returns how many claims were reminded."""
    today = today or _today()
    before = settings.CLAIM_RESET_REMIND_DAYS_BEFORE
    reset_before = timezone.make_aware(
        datetime.datetime.combine(
            today - datetime.timedelta(days=_reset_answer_days() - before),
            datetime.time.max,
        )
    )
    due = Claim.objects.filter(
        status=Claim.Status.RESET, reset_reminded_at=None, decided_at__lte=reset_before
    ).values_list("pk", flat=True)
    reminded = 0
    for pk in list(due):
        with transaction.atomic():
            # Only a claim still reset and not reminded: a conditional update, so two runs at
            # once remind once.
            if not Claim.objects.filter(
                pk=pk, status=Claim.Status.RESET, reset_reminded_at=None
            ).update(reset_reminded_at=timezone.now()):
                continue
            claim = Claim.objects.select_related("dealer").get(pk=pk)
            for email, language in _special_sales_contacts(claim.dealer_id):
                email_queue(
                    to=email,
                    template="claims_reset_reminder",
                    context={"record": claim, "deadline": claim.reset_answer_deadline},
                    language=language,
                    related_object=claim,
                )
            reminded += 1
    return reminded


def claims_reset_unanswered_reject(*, today=None) -> int:
    """Reject the claims whose reset was not answered within CLAIM_RESET_ANSWER_DAYS (a daily
    task), with the reason RESET_NOT_ANSWERED, telling the dealer. Returns how many."""
    today = today or _today()
    reset_before = timezone.make_aware(
        datetime.datetime.combine(
            today - datetime.timedelta(days=_reset_answer_days() + 1), datetime.time.max
        )
    )
    due = Claim.objects.filter(status=Claim.Status.RESET, decided_at__lte=reset_before).values_list(
        "pk", flat=True
    )
    rejected = 0
    for pk in list(due):
        with transaction.atomic():
            claim = lock_for_update(_CLAIMS, pk)
            if claim.status != Claim.Status.RESET:
                continue  # answered or withdrawn meanwhile
            transition_perform(
                claim.reject_unanswered,
                actor=None,
                params={"at": timezone.now()},
                reason_codes=[RESET_NOT_ANSWERED],
            )
            _notify_dealer(claim, reasons=[RESET_NOT_ANSWERED])
            rejected += 1
    return rejected


def claim_withdraw(*, actor, pk) -> Claim:
    return transition_run(
        queryset=_CLAIMS, pk=pk, name="withdraw", actor=actor, params={"at": timezone.now()}
    )


# Bulk decisions ---------------------------------------------------------------------------------

# Up to this many claims are decided in the request; more run as a background job.
BULK_INLINE_LIMIT = 200
BULK_MAX_CLAIMS = 50_000
BULK_DECISIONS = ("approve", "reset", "reject")


def _bulk_clean(*, decision, reasons, reason) -> tuple[str, list[str], str]:
    from ssa_ops.reasons import reason_codes_clean, reason_kind
    from ssa_ops.workflow import reason_clean

    if decision not in BULK_DECISIONS:
        raise ValidationError(
            {"decision": _("Choose one of: %(choices)s.") % {"choices": ", ".join(BULK_DECISIONS)}}
        )
    reason = reason_clean(Claim, decision, reason)
    codes = (
        reason_codes_clean(kind=reason_kind(Claim), codes=reasons) if decision != "approve" else []
    )
    return decision, codes, reason


def claim_bulk_decide_one(*, actor, pk, decision, reasons=(), reason="") -> Claim:
    """One claim of a bulk decision, through the same services as a single decision, under its
    own lock: a claim still waiting in the queue is picked up first."""
    with transaction.atomic():
        claim = Claim.objects.only("status").get(pk=pk)
        if claim.status in Claim.QUEUE_STATES:
            claim_pick_up(actor=actor, pk=pk)
        if decision == "approve":
            return claim_approve(actor=actor, pk=pk, reason=reason)
        return _claim_decide(decision, actor=actor, pk=pk, reasons=list(reasons), reason=reason)


def claims_bulk_decide(*, actor, claim_ids, decision, reasons=(), reason="", progress=None):
    """Decide each claim in turn; a claim that cannot be decided now (changed meanwhile,
    filed by the actor, gone) is skipped with why, never overwritten. Returns
    (decided numbers, skipped [{"record", "code", "message"}]) with stored sentences."""
    from ssa_ops.errors import ApplicationError as Refusal
    from ssa_ops.texts import text_from_error, text_store

    decided, skipped = [], []
    total = len(claim_ids)
    for index, pk in enumerate(claim_ids, start=1):
        number = f"CL-{pk:07d}"
        try:
            claim_bulk_decide_one(
                actor=actor, pk=pk, decision=decision, reasons=reasons, reason=reason
            )
            decided.append(number)
        except Claim.DoesNotExist:
            skipped.append(
                {
                    "record": number,
                    "code": "not_found",
                    "message": text_store(gettext_lazy("This claim no longer exists.")),
                }
            )
        except (Refusal, ValidationError) as error:
            skipped.append(
                {
                    "record": number,
                    "code": getattr(error, "code", None) or "invalid",
                    "message": text_from_error(error),
                }
            )
        if progress is not None and (index % 50 == 0 or index == total):
            progress(index, total)
    return decided, skipped


def claims_bulk_start(*, actor, claim_ids, decision, reasons=(), reason=""):
    """A bulk decision on claims the actor has selected (ids it may see): up to
    BULK_INLINE_LIMIT decided now, returning (decided, skipped, None); more run as a job,
    returning ((), (), job). Bad input (decision, reasons) is refused before anything runs."""
    from claims.selectors import claim_list
    from ssa_ops.jobs import job_start

    decision, codes, reason = _bulk_clean(decision=decision, reasons=reasons, reason=reason)
    if not actor.has_perm("claims.decide_claim"):
        from ssa_ops.errors import PermissionRefused

        raise PermissionRefused(_("You may not do this."), code="permission_denied")
    ids = sorted(
        set(claim_list(user=actor).filter(pk__in=list(claim_ids)).values_list("pk", flat=True))
    )
    if not ids:
        raise ValidationError({"ids": _("Choose at least one claim you may see.")})
    if len(ids) > BULK_MAX_CLAIMS:
        raise ValidationError({"ids": _("At most %(n)s claims at once.") % {"n": BULK_MAX_CLAIMS}})
    if len(ids) <= BULK_INLINE_LIMIT:
        decided, skipped = claims_bulk_decide(
            actor=actor, claim_ids=ids, decision=decision, reasons=codes, reason=reason
        )
        return decided, skipped, None
    job = job_start(
        kind="claims_bulk_decide",
        actor=actor,
        params={"ids": ids, "decision": decision, "reasons": codes, "reason": reason},
    )
    return (), (), job


def claims_bulk_job_run(job, progress):
    """The job handler: decide the job's claims as the user who started it; the summary
    counts decided and skipped claims, each skipped one listed with why."""
    from ssa_ops.jobs import JobOutcome
    from ssa_ops.texts import text_store

    params = job.params
    decided, skipped = claims_bulk_decide(
        actor=job.created_by,
        claim_ids=params["ids"],
        decision=params["decision"],
        reasons=params.get("reasons", []),
        reason=params.get("reason", ""),
        progress=progress,
    )
    return JobOutcome(
        ok=True,
        message=text_store(
            gettext_lazy("%(done)s claims decided, %(skipped)s skipped."),
            done=len(decided),
            skipped=len(skipped),
        ),
        summary={"done": len(decided), "skipped": len(skipped)},
        errors=skipped,
        error_count=len(skipped),
    )
