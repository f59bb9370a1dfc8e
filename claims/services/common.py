"""What the pre-application and claim services share: cleaning values, the customer a
program sells to, documents of the checklist and the dealer's emails."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import CustomerKind
from dealers.credit_code import credit_code_problem
from dealers.models import CREDIT_CODE_MESSAGES, Dealer, DealerContact
from programs.models import Program, SpecialApplication, VehicleModel
from programs.selectors import (
    corporate_accounts_usable,
    program_rule_on,
)
from ssa_ops.attachments import attachments_create
from ssa_ops.audit import audit_record
from ssa_ops.errors import ApplicationError
from ssa_ops.models import Attachment, User
from ssa_ops.notifications import email_queue
from ssa_ops.reasons import reason_labels
from ssa_ops.validation import text_clean

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
    return _special_sales_contacts_of([dealer_id]).get(dealer_id, [])


def _special_sales_contacts_of(dealer_ids) -> dict[int, list[tuple[str, str]]]:
    """_special_sales_contacts for many dealers in two queries: {dealer id: [(email,
    language), ...]} for the dealers that have any."""
    rows = (
        DealerContact.objects.filter(
            dealer_id__in=list(dealer_ids), role=DealerContact.Role.SPECIAL_SALES
        )
        .exclude(email="")
        .order_by("dealer_id", "-is_primary", "name")  # the default order without its join
        .values_list("dealer_id", "email")
    )
    emails: dict[int, dict[str, None]] = {}
    for dealer_id, email in rows:
        emails.setdefault(dealer_id, {})[email] = None
    if not emails:
        return {}
    everyone = {email for found in emails.values() for email in found}
    languages = dict(
        User.objects.filter(email__in=everyone, is_active=True).values_list("email", "language")
    )
    return {
        dealer_id: [(email, languages.get(email, "zh-hans")) for email in found]
        for dealer_id, found in emails.items()
    }


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
