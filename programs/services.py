"""Every write about programs: catalog and versioned rules, corporate accounts, special sales
applications and their signing chain, entitlements, corporate-employee qualifications."""

import datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dealers.credit_code import credit_code_problem
from dealers.models import CREDIT_CODE_MESSAGES, Dealer
from programs.models import (
    ApprovalStep,
    ApproverRole,
    CorporateAccount,
    DocumentStage,
    DocumentType,
    EntitlementUse,
    Industry,
    Program,
    ProgramRule,
    Qualification,
    SpecialApplication,
    SsaNumberCounter,
    VehicleModel,
)
from programs.selectors import program_rule_on
from ssa_ops.accounts import users_with_permission
from ssa_ops.attachments import attachments_create
from ssa_ops.audit import audit_record
from ssa_ops.errors import ApplicationError
from ssa_ops.links import (
    LinkRefused,
    decision_link_issue,
    decision_link_url,
    decision_links_supersede,
)
from ssa_ops.models import User
from ssa_ops.notifications import email_queue, users_notify
from ssa_ops.personal_data import personal_lookup
from ssa_ops.reasons import reason_labels
from ssa_ops.validation import choice_clean, model_text_clean, resident_id_clean, text_clean
from ssa_ops.workflow import lock_for_update, transition_perform, transition_run

LINK_PURPOSE = "program_approval"
MAX_ENTITLEMENT_UNITS = 1000


def _today() -> datetime.date:
    return timezone.localdate()


def _fields_clean(model, values: dict, cleaners: dict) -> dict:
    """Each field through its cleaner; one ValidationError with a message per field."""
    cleaned, errors = {}, {}
    for field, clean in cleaners.items():
        try:
            cleaned[field] = clean(values.get(field))
        except ValidationError as error:
            errors[field] = error
    if errors:
        raise ValidationError(errors)
    return cleaned


def _text(model, field, **kwargs):
    return lambda value: model_text_clean(model, field, value, **kwargs)


def _positive_int(*, minimum=0, maximum=100_000):
    def clean(value):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError(_("Enter a whole number."), code="invalid_type")
        try:
            number = int(value)
        except ValueError:
            raise ValidationError(_("Enter a whole number."), code="invalid_type") from None
        if not minimum <= number <= maximum:
            raise ValidationError(
                _("Enter a number from %(min)s to %(max)s.") % {"min": minimum, "max": maximum}
            )
        return number

    return clean


def _email(value) -> str:
    email = text_clean(value, max_length=254).lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(_("Enter a valid email address."), code="email") from None
    return email


def _required_email(value) -> str:
    email = _email(value)
    if not email:
        raise ValidationError(_("This field is required."), code="required")
    return email


def _credit_code(value) -> str:
    code = text_clean(value, max_length=18, required=True).upper()
    problem = credit_code_problem(code)
    if problem:
        raise ValidationError(CREDIT_CODE_MESSAGES[problem], code="credit_code_" + problem)
    return code


def _phone(value) -> str:
    phone = text_clean(value, max_length=30, required=True)
    digits = [char for char in phone if char.isdigit()]
    if not (7 <= len(digits) <= 20 and all(c.isdigit() or c in "+- ()" for c in phone)):
        raise ValidationError(
            _("Enter a phone number of 7 to 20 digits (+, - and spaces allowed)."), code="phone"
        )
    return phone


def _money(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise ValidationError(_("Enter an amount in CNY, e.g. 5000.00."), code="invalid_type")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(_("Enter an amount in CNY, e.g. 5000.00."), code="invalid") from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("10000000"):
        raise ValidationError(_("Enter an amount from 0 to 10,000,000 CNY."), code="invalid")
    return amount.quantize(Decimal("0.01"))


# Catalog ----------------------------------------------------------------------------------------


def vehicle_model_create(*, actor, code, series, name_zh, msrp, name_en="") -> VehicleModel:
    vehicle_model = VehicleModel(
        code=code, series=series, name_zh=name_zh, name_en=name_en, msrp=_money(msrp)
    )
    vehicle_model.full_clean()
    vehicle_model.save()
    audit_record(actor=actor, obj=vehicle_model, action="create")
    return vehicle_model


def document_type_create(*, code, name_zh, name_en="") -> DocumentType:
    document_type = DocumentType(code=code, name_zh=name_zh, name_en=name_en)
    document_type.full_clean()
    document_type.save()
    return document_type


def program_create(
    *, actor, code, type, name_zh, name_en="", checking_vendor=None, is_active=True
) -> Program:
    if Program.objects.filter(code=code).exists():
        raise ValidationError({"code": _("This code exists already.")})
    program = Program(
        code=code,
        type=type,
        name_zh=name_zh,
        name_en=name_en,
        checking_vendor=checking_vendor,
        is_active=is_active,
    )
    program.full_clean()
    program.save()
    audit_record(actor=actor, obj=program, action="create")
    return program


def _eligible_models_clean(rows) -> list[dict]:
    if not isinstance(rows, list | tuple) or not rows:
        raise ValidationError(_("List at least one eligible model with its support amount."))
    known = set(VehicleModel.objects.filter(is_active=True).values_list("code", flat=True))
    cleaned, seen = [], set()
    for row in rows:
        if not isinstance(row, dict):
            raise ValidationError(_("Give each eligible model as {model, amount}."))
        code = text_clean(row.get("model"), max_length=30, required=True)
        if code not in known:
            raise ValidationError(_("Unknown vehicle model: %(code)s.") % {"code": code[:30]})
        if code in seen:
            raise ValidationError(_("%(code)s is listed twice.") % {"code": code})
        seen.add(code)
        cleaned.append({"model": code, "amount": str(_money(row.get("amount")))})
    return cleaned


def _required_documents_clean(value) -> dict:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError(_("Give the documents per stage as an object."))
    known = set(DocumentType.objects.values_list("code", flat=True))
    cleaned = {}
    for stage, codes in value.items():
        if stage not in DocumentStage.values:
            raise ValidationError(_("Unknown stage: %(stage)s.") % {"stage": str(stage)[:30]})
        if not isinstance(codes, list | tuple) or not all(isinstance(c, str) for c in codes):
            raise ValidationError(_("Give each stage's documents as a list of codes."))
        unknown = sorted(set(codes) - known)
        if unknown:
            raise ValidationError(
                _("Unknown document types: %(codes)s.") % {"codes": ", ".join(unknown)[:200]}
            )
        if codes:
            cleaned[stage] = list(dict.fromkeys(codes))
    return cleaned


def _approver_chain_clean(value) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or len(value) > 10:
        raise ValidationError(_("Give the approvers as a list of at most 10 steps."))
    chain = []
    for step in value:
        if not isinstance(step, dict):
            raise ValidationError(_("Give each approver as {role, name, email}."))
        chain.append(
            {
                "role": choice_clean(step.get("role"), ApproverRole.values),
                "name": text_clean(step.get("name"), max_length=100, required=True),
                "email": _required_email(step.get("email")),
            }
        )
    return chain


def _boolean(value) -> bool:
    if value in (None, ""):
        return False
    if isinstance(value, bool):
        return value
    raise ValidationError(_("Enter true or false."), code="invalid_type")


RULE_CLEANERS = {
    "eligible_models": _eligible_models_clean,
    "max_units_per_customer": _positive_int(minimum=1, maximum=10_000),
    "period_days": _positive_int(minimum=1, maximum=3650),
    "pre_application_required": _boolean,
    "claim_window_days": _positive_int(minimum=1, maximum=3650),
    "required_documents": _required_documents_clean,
    "approver_chain": _approver_chain_clean,
    "qualification_required": _boolean,
    "entitlement_units": _positive_int(minimum=0, maximum=MAX_ENTITLEMENT_UNITS),
    "validity_days": _positive_int(minimum=1, maximum=3650),
    "note": lambda value: text_clean(value, max_length=2000, multiline=True),
}


def rule_values_clean(values: dict) -> dict:
    if not isinstance(values, dict):
        raise ValidationError({"values": _("Give the rule's values as an object.")})
    return _fields_clean(ProgramRule, values, RULE_CLEANERS)


@transaction.atomic
def program_rule_revise(
    *, actor, program_id, valid_from: datetime.date, values: dict, allow_past=False
) -> ProgramRule:
    """A new version of a program's rules, in force from `valid_from`. Earlier versions stay as
    they are: records dated before `valid_from` keep being evaluated against them. The date
    must follow every existing version's, and (unless loading history) not be in the past."""
    program = lock_for_update(Program.objects.all(), program_id)
    if not isinstance(valid_from, datetime.date):
        raise ValidationError({"valid_from": _("Enter a date.")})
    cleaned = rule_values_clean(values)
    if program.type in Program.APPLICATION_TYPES and not cleaned["approver_chain"]:
        raise ValidationError({"approver_chain": _("This program needs at least one approver.")})
    latest = program.rules.order_by("-valid_from").first()
    if latest is not None and valid_from <= latest.valid_from:
        raise ValidationError(
            {
                "valid_from": _("A new version starts after the latest one (%(date)s).")
                % {"date": latest.valid_from.isoformat()}
            }
        )
    if not allow_past and valid_from < _today():
        raise ValidationError(
            {"valid_from": _("A new version cannot start in the past: history is not rewritten.")}
        )
    if not allow_past and latest is not None and valid_from == _today():
        # records already dated today were filed under the version in force this morning
        raise ValidationError({"valid_from": _("A new version starts tomorrow at the earliest.")})
    version = (latest.version if latest else 0) + 1
    rule = ProgramRule.objects.create(
        program=program, version=version, valid_from=valid_from, created_by=actor, **cleaned
    )
    audit_record(
        actor=actor,
        obj=program,
        action="rule_version",
        reason=cleaned["note"],
        changes={"version": version, "valid_from": valid_from.isoformat()},
    )
    return rule


@transaction.atomic
def program_rule_withdraw(*, actor, rule_id) -> Program:
    """Take back the latest version before it is in force (a wrong date or amount typed for
    the future). A version in force, or one a record was filed under, is history: it stays."""
    rule = ProgramRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise Http404
    program = lock_for_update(Program.objects.all(), rule.program_id)
    latest = program.rules.order_by("-valid_from").first()
    if rule != latest or rule.valid_from <= _today():
        raise ApplicationError(
            _("Only the latest version, before the day it starts, can be withdrawn."),
            code="rule_in_force",
        )
    try:
        with transaction.atomic():
            rule.delete()
    except ProtectedError:
        raise ApplicationError(
            _("Records were filed under this version: it stays."), code="rule_in_use"
        ) from None
    audit_record(
        actor=actor,
        obj=program,
        action="rule_withdrawn",
        changes={"version": rule.version, "valid_from": rule.valid_from.isoformat()},
    )
    return program


def _rule_for(program: Program, on_date) -> ProgramRule:
    rule = program_rule_on(program_id=program.pk, on_date=on_date)
    if rule is None:
        raise ApplicationError(
            _("Program %(program)s has no rules in force on %(date)s.")
            % {"program": program.code, "date": on_date.isoformat()},
            code="no_rule_in_force",
        )
    return rule


# Corporate accounts -----------------------------------------------------------------------------

ACCOUNT_CLEANERS = {
    "company_name": _text(CorporateAccount, "company_name"),
    "credit_code": _credit_code,
    "industry": lambda value: choice_clean(value, Industry.values),
    "province": _text(CorporateAccount, "province"),
    "city": _text(CorporateAccount, "city"),
    "fleet_size": _positive_int(minimum=1, maximum=1_000_000),
    "contact_name": _text(CorporateAccount, "contact_name"),
    "contact_phone": _phone,
    "contact_email": _email,
}


def corporate_account_values_clean(values) -> dict:
    if not isinstance(values, dict):
        raise ValidationError({"values": _("Give the account's values as an object.")})
    return _fields_clean(CorporateAccount, values, ACCOUNT_CLEANERS)


def _credit_code_free(*, credit_code, dealer, exclude_pk=None) -> None:
    """Refuse a credit code another live account holds, pointing to it: its number, and for
    the same dealer its id; another dealer learns only that it exists."""
    existing = (
        CorporateAccount.objects.filter(credit_code=credit_code)
        .exclude(status=CorporateAccount.Status.REJECTED)
        .exclude(pk=exclude_pk)
        .first()
    )
    if existing is None:
        return
    if existing.dealer_id == dealer.pk:
        raise ApplicationError(
            _("This credit code is already registered as account %(number)s.")
            % {"number": existing.number},
            code="credit_code_registered",
            extra={"account": existing.number, "account_id": existing.pk},
        )
    raise ApplicationError(
        _(
            "This credit code is already registered as account %(number)s by another dealer. "
            "Ask ops if your customer should be served under it."
        )
        % {"number": existing.number},
        code="credit_code_registered",
        extra={"account": existing.number},
    )


def corporate_account_create(*, actor, dealer: Dealer, values: dict, documents=()):
    """A dealer registers a corporate customer as a draft, with its business licence."""
    cleaned = corporate_account_values_clean(values)
    try:
        with transaction.atomic():
            _credit_code_free(credit_code=cleaned["credit_code"], dealer=dealer)
            account = CorporateAccount.objects.create(dealer=dealer, created_by=actor, **cleaned)
            attachments_create(
                owner=account, uploads=documents, actor=actor, purpose="business_licence"
            )
            audit_record(actor=actor, obj=account, action="create", to_state=account.status)
    except IntegrityError:
        # Two registrations of one code at once: the constraint lets only one through.
        _credit_code_free(credit_code=cleaned["credit_code"], dealer=dealer)
        raise
    return account


@transaction.atomic
def corporate_account_update(*, actor, pk, values: dict, documents=()) -> CorporateAccount:
    """The dealer edits a draft or a reset account before (re)submitting it."""
    account = lock_for_update(CorporateAccount.objects.select_related("dealer"), pk)
    if account.status not in CorporateAccount.EDITABLE_STATES:
        raise ApplicationError(
            _("Only a draft or an account reset to the dealer can be edited."), code="not_editable"
        )
    cleaned = corporate_account_values_clean(values)
    _credit_code_free(credit_code=cleaned["credit_code"], dealer=account.dealer, exclude_pk=pk)
    changes = {
        field: [getattr(account, field), value]
        for field, value in cleaned.items()
        if getattr(account, field) != value
    }
    for field, value in cleaned.items():
        setattr(account, field, value)
    try:
        with transaction.atomic():
            account.save(update_fields=[*cleaned, "updated_at"])
    except IntegrityError:
        # another registration of this code landed meanwhile: say whose, as at creation
        _credit_code_free(credit_code=cleaned["credit_code"], dealer=account.dealer, exclude_pk=pk)
        raise
    attachments_create(owner=account, uploads=documents, actor=actor, purpose="business_licence")
    if changes or documents:
        audit_record(actor=actor, obj=account, action="update", changes=changes)
    return account


@transaction.atomic
def corporate_account_add_documents(*, actor, pk, documents) -> CorporateAccount:
    """Attach business licence scans while the account is a draft or reset to the dealer."""
    account = lock_for_update(CorporateAccount.objects.all(), pk)
    if account.status not in CorporateAccount.EDITABLE_STATES:
        raise ApplicationError(
            _("Only a draft or an account reset to the dealer can be edited."), code="not_editable"
        )
    for attachment in attachments_create(
        owner=account, uploads=documents, actor=actor, purpose="business_licence"
    ):
        audit_record(actor=actor, obj=account, action="attach", reason=attachment.original_name)
    return account


@transaction.atomic
def application_add_documents(*, actor, pk, documents) -> SpecialApplication:
    """Attach documents (ID card, appointment letter, press card) while it is a draft."""
    application = lock_for_update(SpecialApplication.objects.all(), pk)
    if application.status != SpecialApplication.Status.DRAFT:
        raise ApplicationError(
            _("Documents can be added only while it is a draft."), code="not_draft"
        )
    for attachment in attachments_create(
        owner=application, uploads=documents, actor=actor, purpose="application_document"
    ):
        audit_record(actor=actor, obj=application, action="attach", reason=attachment.original_name)
    return application


_ACCOUNTS = CorporateAccount.objects.select_related("dealer", "created_by")


def corporate_account_submit(*, actor, pk) -> CorporateAccount:
    with transaction.atomic():
        account = transition_run(
            queryset=_ACCOUNTS, pk=pk, name="submit", actor=actor, params={"at": timezone.now()}
        )
        users_notify(
            users=users_with_permission("programs.decide_corporateaccount").exclude(pk=actor.pk),
            template="program_record_to_decide",
            context=_record_context(account),
            related_object=account,
        )
    return account


def _account_decide(name, *, actor, pk, reason="", reasons=None) -> CorporateAccount:
    with transaction.atomic():
        account = transition_run(
            queryset=_ACCOUNTS,
            pk=pk,
            name=name,
            actor=actor,
            reason=reason,
            reasons=reasons,
            params={"by": actor, "at": timezone.now()},
        )
        _notify_filer(account, reason=reason, reasons=reasons)
    return account


def corporate_account_approve(*, actor, pk, reason="") -> CorporateAccount:
    return _account_decide("approve", actor=actor, pk=pk, reason=reason)


def corporate_account_reset(*, actor, pk, reasons, reason="") -> CorporateAccount:
    return _account_decide("reset", actor=actor, pk=pk, reason=reason, reasons=reasons)


def corporate_account_reject(*, actor, pk, reasons, reason="") -> CorporateAccount:
    return _account_decide("reject", actor=actor, pk=pk, reason=reason, reasons=reasons)


_DETAIL_URLS = {
    CorporateAccount: "programs:account-detail",
    Qualification: "programs:qualification-detail",
}


def _record_context(record) -> dict:
    return {
        "record": record,
        "kind": type(record)._meta.verbose_name,
        "record_url": reverse(_DETAIL_URLS[type(record)], args=[record.pk]),
    }


def _notify_filer(record, *, reason="", reasons=None):
    codes = list(reasons or [])
    users_notify(
        users=[record.created_by],
        template="program_record_status",
        context={
            **_record_context(record),
            "comment": reason,
            # Called by the template while it renders, in the recipient's language.
            "reason_labels": lambda: reason_labels(codes),
        },
        related_object=record,
    )


# Special sales applications --------------------------------------------------------------------

_APPLICATION_FIELDS = {
    Program.Type.ASSOCIATE: ("employee_number", "company_entity", "relation"),
    Program.Type.VIP: ("organisation", "title"),
    Program.Type.MEDIA: ("media_outlet", "press_card_number"),
}
_APPLICATION_OPTIONAL = {
    "employee_number",
    "company_entity",
    "relation",
    "organisation",
    "title",
    "media_outlet",
    "press_card_number",
}


def application_values_clean(program: Program, values) -> dict:
    if not isinstance(values, dict):
        raise ValidationError({"values": _("Give the application's values as an object.")})
    needed = _APPLICATION_FIELDS.get(program.type, ())
    cleaners = {
        "applicant_name": _text(SpecialApplication, "applicant_name"),
        "id_number": resident_id_clean,
    }
    for field in _APPLICATION_OPTIONAL:
        cleaners[field] = _text(SpecialApplication, field, required=field in needed)
    cleaned = _fields_clean(SpecialApplication, values, cleaners)
    # Fields of another program type are not kept.
    for field in _APPLICATION_OPTIONAL - set(needed):
        cleaned[field] = ""
    return cleaned


def application_create(
    *,
    actor,
    program: Program,
    dealer: Dealer,
    vehicle_model: VehicleModel,
    values: dict,
    documents=(),
    applied_on=None,
) -> SpecialApplication:
    """Ops record an associate, VIP or media application as a draft, against the rule version
    in force on the application date."""
    if program.type not in Program.APPLICATION_TYPES:
        raise ApplicationError(
            _("Program %(program)s does not take special sales applications.")
            % {"program": program.code},
            code="wrong_program_type",
        )
    if not program.is_active:
        raise ApplicationError(_("This program is not active."), code="program_inactive")
    if dealer.status != Dealer.Status.ACTIVE:
        raise ApplicationError(_("The dealer is not active."), code="dealer_not_active")
    applied_on = applied_on or _today()
    rule = _rule_for(program, applied_on)
    if rule.support_amount(vehicle_model.code) is None:
        raise ValidationError(
            {"vehicle_model": _("This model is not eligible under the program's rules.")}
        )
    cleaned = application_values_clean(program, values)
    _customer_limit_check(program=program, rule=rule, id_number=cleaned["id_number"], on=applied_on)
    with transaction.atomic():
        application = SpecialApplication.objects.create(
            program=program,
            rule=rule,
            applied_on=applied_on,
            vehicle_model=vehicle_model,
            dealer=dealer,
            created_by=actor,
            **cleaned,
        )
        attachments_create(
            owner=application, uploads=documents, actor=actor, purpose="application_document"
        )
        audit_record(actor=actor, obj=application, action="create", to_state=application.status)
    return application


def _customer_limit_check(*, program, rule, id_number, on, exclude_pk=None) -> None:
    """The rule's maximum units per customer in its rolling period: applications of the same
    person (by ID number) under the program within the period count with their entitlement
    (the rule's while being signed); an expired one counts with the units it used."""
    since = on - datetime.timedelta(days=rule.period_days)
    others = (
        SpecialApplication.objects.filter(
            personal_lookup(SpecialApplication, "id_number", id_number),
            program=program,
            status__in=[
                SpecialApplication.Status.SIGNING,
                SpecialApplication.Status.APPROVED,
                SpecialApplication.Status.EXPIRED,
            ],
            applied_on__gt=since,
        )
        .exclude(pk=exclude_pk)
        .select_related("rule")
    )
    held = sum(
        a.units_used
        if a.status == SpecialApplication.Status.EXPIRED
        else (a.entitlement_units or a.rule.entitlement_units)
        for a in others
    )
    others = [a for a in others if a.status != SpecialApplication.Status.EXPIRED or a.units_used]
    if others and held + rule.entitlement_units > rule.max_units_per_customer:
        numbers = ", ".join(str(a) for a in others)
        raise ApplicationError(
            _(
                "This person already holds %(held)s of the %(limit)s units allowed in %(days)s "
                "days under this program (%(numbers)s)."
            )
            % {
                "held": held,
                "limit": rule.max_units_per_customer,
                "days": rule.period_days,
                "numbers": numbers,
            },
            code="customer_limit",
        )


_APPLICATIONS = SpecialApplication.objects.select_related(
    "program", "rule", "dealer", "vehicle_model", "created_by"
)


def application_submit(*, actor, pk) -> SpecialApplication:
    """Send for signing: one step per approver of the rule version, the first one emailed.
    The person's units in the rule's period are checked again under a lock on the program, so
    two applications of one person sent at once cannot both pass."""
    with transaction.atomic():
        draft = SpecialApplication.objects.select_related("rule").get(pk=pk)
        lock_for_update(Program.objects.all(), draft.program_id)
        _customer_limit_check(
            program=draft.program_id,
            rule=draft.rule,
            id_number=draft.id_number,
            on=draft.applied_on,
            exclude_pk=draft.pk,
        )
        application = transition_run(
            queryset=_APPLICATIONS,
            pk=pk,
            name="submit",
            actor=actor,
            params={"at": timezone.now()},
        )
        for position, approver in enumerate(application.rule.approver_chain, start=1):
            ApprovalStep.objects.create(
                application=application,
                position=position,
                role=approver["role"],
                approver_name=approver["name"],
                approver_email=approver["email"],
            )
        first = application.steps.order_by("position").first()
        if first is None:
            raise ApplicationError(_("The program's rules name no approver."), code="no_approver")
        _step_open(first, actor=actor)
    return application


def _step_audit_changes(step) -> dict:
    return {
        "position": step.position,
        "role": step.get_role_display(),
        "approver_name": step.approver_name,
    }


def _step_open(step: ApprovalStep, *, actor) -> ApprovalStep:
    """Make a step the current one and email its approver a fresh link."""
    step = lock_for_update(ApprovalStep.objects.select_related("application"), step.pk)
    transition_perform(
        step.send_link,
        actor=actor,
        params={"at": timezone.now()},
        changes=_step_audit_changes(step),
    )
    _step_email(step, actor=actor)
    return step


def _step_email(step: ApprovalStep, *, actor, reminder=False):
    link, token = decision_link_issue(
        purpose=LINK_PURPOSE,
        step=step,
        approver_name=step.approver_name,
        approver_email=step.approver_email,
        actor=actor,
    )
    application = step.application
    email_queue(
        to=step.approver_email,
        template="program_approval_request",
        context={
            "application": application,
            "step": step,
            "approver_name": step.approver_name,
            "link_url": decision_link_url(token),
            "expires_at": link.expires_at,
            "reminder": reminder,
        },
        language=link.language,
        related_object=application,
    )
    return link


def approval_step_decide(*, link, decision, comment) -> SpecialApplication:
    """An approver's decision from an emailed link (called by the link service, which has
    locked the link). Approving passes the application to the next approver, or approves it
    after the last one; rejecting ends it."""
    step_pk = int(link.object_id)
    application_pk = (
        ApprovalStep.objects.filter(pk=step_pk).values_list("application_id", flat=True).first()
    )
    if application_pk is None:
        raise LinkRefused("wrong_step")
    application = lock_for_update(_APPLICATIONS, application_pk)
    step = lock_for_update(ApprovalStep.objects.all(), step_pk)
    if (
        application.status != SpecialApplication.Status.SIGNING
        or step.status != ApprovalStep.Status.PENDING
        or step.approver_email != link.approver_email
    ):
        raise LinkRefused("wrong_step")
    now, name = timezone.now(), link.approver_name
    transition_perform(
        getattr(step, decision),
        actor=None,
        actor_name=name,
        reason=comment,
        params={"at": now, "comment": comment},
        changes=_step_audit_changes(step),
    )
    if decision == "reject":
        for later in application.steps.filter(status=ApprovalStep.Status.WAITING):
            later = lock_for_update(ApprovalStep.objects.all(), later.pk)
            transition_perform(later.cancel, actor=None, actor_name=name)
        transition_perform(
            application.reject, actor=None, actor_name=name, reason=comment, params={"at": now}
        )
        _notify_application_decided(application)
        return application
    following = (
        application.steps.filter(status=ApprovalStep.Status.WAITING).order_by("position").first()
    )
    if following is not None:
        _step_open(following, actor=None)
        return application
    rule = application.rule
    valid_from = _today()
    transition_perform(
        application.approve,
        actor=None,
        actor_name=name,
        reason=comment,
        params={
            "at": now,
            "ssa_number": ssa_number_next(year=valid_from.year),
            "valid_from": valid_from,
            "valid_until": valid_from + datetime.timedelta(days=rule.validity_days),
            "units": rule.entitlement_units,
        },
    )
    _notify_application_decided(application)
    return application


def _notify_application_decided(application):
    users = {application.created_by.pk: application.created_by}
    for user in User.objects.filter(dealer_id=application.dealer_id, is_active=True):
        users[user.pk] = user
    users_notify(
        users=users.values(),
        template="program_application_decided",
        context={"application": application},
        related_object=application,
    )


def ssa_number_next(*, year: int) -> str:
    """The next SSA number of `year`, e.g. SSA2026-000042. The counter row stays locked until
    the surrounding transaction ends, so numbers are unique and, since a rolled-back approval
    rolls the counter back too, gap-free."""
    assert transaction.get_connection().in_atomic_block, "numbers are taken inside a transaction"
    SsaNumberCounter.objects.get_or_create(year=year)
    counter = SsaNumberCounter.objects.select_for_update().get(year=year)
    SsaNumberCounter.objects.filter(year=year).update(last=F("last") + 1)
    return f"SSA{year}-{counter.last + 1:06d}"


def _pending_step(application_pk, step_pk) -> ApprovalStep:
    step = lock_for_update(ApprovalStep.objects.select_related("application"), step_pk)
    if step.application_id != application_pk:
        raise ApplicationError(_("No such step."), code="not_found")
    if step.status != ApprovalStep.Status.PENDING or (
        step.application.status != SpecialApplication.Status.SIGNING
    ):
        raise ApplicationError(
            _("Only the step waiting for its approver can be sent again or reassigned."),
            code="step_not_pending",
        )
    return step


def approval_step_resend(*, actor, application_pk, step_pk) -> ApprovalStep:
    """Email the current approver a new link; the old one stops working."""
    return approval_step_reassign(actor=actor, application_pk=application_pk, step_pk=step_pk)


def approval_step_reassign(
    *, actor, application_pk, step_pk, approver_name=None, approver_email=None
) -> ApprovalStep:
    """Send the current step to another approver (or the same one again) with a new link; the
    old link stops working."""
    if not actor.has_perm("programs.change_specialapplication"):
        from ssa_ops.errors import PermissionRefused

        raise PermissionRefused(_("You may not do this."), code="permission_denied")
    with transaction.atomic():
        step = ApprovalStep.objects.filter(pk=step_pk, application_id=application_pk).first()
        if step is None:
            raise ApplicationError(_("No such step."), code="not_found")
        decision_links_supersede(step=step, actor=actor)  # links first: the order deciding uses
        lock_for_update(SpecialApplication.objects.all(), application_pk)
        step = _pending_step(application_pk, step_pk)
        name = step.approver_name if approver_name is None else approver_name
        email = step.approver_email if approver_email is None else approver_email
        name = text_clean(name, max_length=100, required=True)
        email = _required_email(email)
        changes = {}
        if name != step.approver_name:
            changes["approver_name"] = [step.approver_name, name]
        if email != step.approver_email:
            changes["approver_email"] = [step.approver_email, email]
        transition_perform(
            step.send_again,
            actor=actor,
            params={"at": timezone.now(), "name": name, "email": email},
            changes={**_step_audit_changes(step), **changes},
        )
        _step_email(step, actor=actor)
    return step


def approval_steps_remind(*, now=None) -> int:
    """Remind every approver who has not decided within PROGRAM_APPROVAL_REMINDER_DAYS of the
    last email (a new link replaces the old one). Returns how many were reminded."""
    now = now or timezone.now()
    due = now - datetime.timedelta(days=settings.PROGRAM_APPROVAL_REMINDER_DAYS)
    candidates = list(
        ApprovalStep.objects.filter(
            status=ApprovalStep.Status.PENDING,
            application__status=SpecialApplication.Status.SIGNING,
            sent_at__lte=due,
        )
        .exclude(reminded_at__gt=due)
        .values_list("pk", flat=True)[:500]
    )
    reminded = 0
    for pk in candidates:
        with transaction.atomic():
            step = ApprovalStep.objects.get(pk=pk)
            decision_links_supersede(step=step)
            step = lock_for_update(ApprovalStep.objects.select_related("application"), pk)
            last = step.reminded_at or step.sent_at
            if step.status != ApprovalStep.Status.PENDING or (last and last > due):
                # decided or sent again meanwhile: its links stay as they were
                transaction.set_rollback(True)
                continue
            transition_perform(step.remind, actor=None, params={"at": now})
            _step_email(step, actor=None, reminder=True)
            reminded += 1
    return reminded


def application_cancel(*, actor, pk, reasons, reason="") -> SpecialApplication:
    """Ops cancel a draft or an application being signed; its open links stop working."""
    with transaction.atomic():
        for step in ApprovalStep.objects.filter(application_id=pk):
            decision_links_supersede(step=step, actor=actor)
        application = transition_run(
            queryset=_APPLICATIONS,
            pk=pk,
            name="cancel",
            actor=actor,
            reason=reason,
            reasons=reasons,
            params={"at": timezone.now()},
        )
        for step in application.steps.filter(
            status__in=[ApprovalStep.Status.WAITING, ApprovalStep.Status.PENDING]
        ):
            step = lock_for_update(ApprovalStep.objects.all(), step.pk)
            transition_perform(step.cancel, actor=actor)
    return application


def applications_expire(*, today=None) -> int:
    """Approved applications past their validity become expired (beat, idempotent)."""
    today = today or _today()
    expired = 0
    for pk in SpecialApplication.objects.filter(
        status=SpecialApplication.Status.APPROVED, valid_until__lt=today
    ).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            application = lock_for_update(SpecialApplication.objects.all(), pk)
            if application.status != SpecialApplication.Status.APPROVED:
                continue
            transition_perform(application.expire, actor=None)
            expired += 1
    return expired


def _record_key(by_record) -> tuple[str, str]:
    return by_record._meta.label_lower, str(by_record.pk)


def application_entitlement_consume(
    *, application_id, units: int, by_record, on_date=None, actor=None
) -> EntitlementUse:
    """Take `units` of an approved application's entitlement for a pre-application or a claim
    (`by_record`), under a lock on the application: beyond the entitlement, outside the
    validity or on an application that is not approved, it is refused. Taking it again for
    the same record with the same units returns the same use."""
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ApplicationError(_("Units must be a whole number of 1 or more."), code="invalid")
    record_type, record_id = _record_key(by_record)
    on_date = on_date or _today()
    with transaction.atomic():
        application = lock_for_update(SpecialApplication.objects.all(), application_id)
        existing = application.entitlement_uses.filter(
            record_type=record_type, record_id=record_id, released_at=None
        ).first()
        if existing is not None:
            if existing.units == units:
                return existing
            raise ApplicationError(
                _("This record already takes %(units)s units; release them first.")
                % {"units": existing.units},
                code="entitlement_already_taken",
            )
        if application.status != SpecialApplication.Status.APPROVED:
            raise ApplicationError(
                _("Application %(number)s is %(state)s: its entitlement cannot be used.")
                % {"number": application, "state": application.get_status_display()},
                code="entitlement_not_usable",
            )
        if not (application.valid_from <= on_date <= application.valid_until):
            raise ApplicationError(
                _("Application %(number)s is valid from %(start)s to %(end)s.")
                % {
                    "number": application,
                    "start": application.valid_from.isoformat(),
                    "end": application.valid_until.isoformat(),
                },
                code="entitlement_out_of_validity",
            )
        if application.units_used + units > application.entitlement_units:
            raise ApplicationError(
                _("Only %(left)s of %(total)s units are left on %(number)s.")
                % {
                    "left": application.units_left,
                    "total": application.entitlement_units,
                    "number": application,
                },
                code="entitlement_exceeded",
                extra={"units_left": application.units_left},
            )
        SpecialApplication.objects.filter(pk=application.pk).update(
            units_used=F("units_used") + units, updated_at=timezone.now()
        )
        use = EntitlementUse.objects.create(
            application=application, units=units, record_type=record_type, record_id=record_id
        )
        audit_record(
            actor=actor,
            obj=application,
            action="entitlement_consume",
            reason=f"{record_type} {record_id}",
            changes={"units_used": [application.units_used, application.units_used + units]},
        )
    return use


def application_entitlement_release(
    *, application_id, by_record, actor=None
) -> EntitlementUse | None:
    """Give back what `by_record` took (e.g. a claim rejected or withdrawn); None if it took
    nothing. Safe to call twice."""
    record_type, record_id = _record_key(by_record)
    with transaction.atomic():
        application = lock_for_update(SpecialApplication.objects.all(), application_id)
        use = (
            application.entitlement_uses.select_for_update()
            .filter(record_type=record_type, record_id=record_id, released_at=None)
            .first()
        )
        if use is None:
            return None
        use.released_at = timezone.now()
        use.save(update_fields=["released_at"])
        SpecialApplication.objects.filter(pk=application.pk).update(
            units_used=F("units_used") - use.units, updated_at=timezone.now()
        )
        audit_record(
            actor=actor,
            obj=application,
            action="entitlement_release",
            reason=f"{record_type} {record_id}",
            changes={"units_used": [application.units_used, application.units_used - use.units]},
        )
    return use


# Corporate-employee qualifications --------------------------------------------------------------

QUALIFICATION_CLEANERS = {
    "customer_name": _text(Qualification, "customer_name"),
    "id_number": resident_id_clean,
    "employer_name": _text(Qualification, "employer_name"),
    "employee_number": _text(Qualification, "employee_number"),
}


def qualification_create(
    *, actor, program: Program, dealer: Dealer, values: dict, documents=(), on_date=None
) -> Qualification:
    """A dealer asks for a corporate-employee customer's qualification, with the proof of
    employment (housing fund or social insurance record)."""
    if program.type != Program.Type.EMPLOYEE:
        raise ApplicationError(
            _("Program %(program)s has no employee qualification.") % {"program": program.code},
            code="wrong_program_type",
        )
    if program.checking_vendor_id is None:
        raise ApplicationError(
            _("The program has no checking vendor yet; ask ops."), code="no_checking_vendor"
        )
    if not isinstance(values, dict):
        raise ValidationError({"values": _("Give the qualification's values as an object.")})
    rule = _rule_for(program, on_date or _today())
    cleaned = _fields_clean(Qualification, values, QUALIFICATION_CLEANERS)
    with transaction.atomic():
        qualification = Qualification.objects.create(
            program=program,
            rule=rule,
            dealer=dealer,
            vendor_id=program.checking_vendor_id,
            created_by=actor,
            **cleaned,
        )
        attachments_create(
            owner=qualification, uploads=documents, actor=actor, purpose="employment_proof"
        )
        audit_record(actor=actor, obj=qualification, action="create", to_state=qualification.status)
    return qualification


@transaction.atomic
def qualification_add_proof(*, actor, pk, documents) -> Qualification:
    qualification = lock_for_update(Qualification.objects.all(), pk)
    if qualification.status != Qualification.Status.DRAFT:
        raise ApplicationError(
            _("Documents can be added only while it is a draft."), code="not_draft"
        )
    for attachment in attachments_create(
        owner=qualification, uploads=documents, actor=actor, purpose="employment_proof"
    ):
        audit_record(
            actor=actor, obj=qualification, action="attach", reason=attachment.original_name
        )
    return qualification


_QUALIFICATIONS = Qualification.objects.select_related("program", "dealer", "vendor", "created_by")


def qualification_submit(*, actor, pk) -> Qualification:
    with transaction.atomic():
        qualification = transition_run(
            queryset=_QUALIFICATIONS,
            pk=pk,
            name="submit",
            actor=actor,
            params={"at": timezone.now()},
        )
        users_notify(
            users=User.objects.filter(vendor_id=qualification.vendor_id, is_active=True),
            template="program_record_to_decide",
            context=_record_context(qualification),
            related_object=qualification,
        )
    return qualification


def _qualification_step(name, *, actor, pk, reason="", reasons=None, notify=False):
    with transaction.atomic():
        qualification = transition_run(
            queryset=_QUALIFICATIONS,
            pk=pk,
            name=name,
            actor=actor,
            reason=reason,
            reasons=reasons,
            params={"by": actor, "at": timezone.now()},
        )
        if notify:
            _notify_filer(qualification, reason=reason, reasons=reasons)
        else:
            users_notify(
                users=users_with_permission("programs.decide_qualification"),
                template="program_record_to_decide",
                context=_record_context(qualification),
                related_object=qualification,
            )
    return qualification


def qualification_check_pass(*, actor, pk, reasons, reason="") -> Qualification:
    return _qualification_step("check_pass", actor=actor, pk=pk, reason=reason, reasons=reasons)


def qualification_check_fail(*, actor, pk, reasons, reason="") -> Qualification:
    return _qualification_step("check_fail", actor=actor, pk=pk, reason=reason, reasons=reasons)


def qualification_approve(*, actor, pk, reason="") -> Qualification:
    return _qualification_step("approve", actor=actor, pk=pk, reason=reason, notify=True)


def qualification_reject(*, actor, pk, reasons, reason="") -> Qualification:
    return _qualification_step(
        "reject", actor=actor, pk=pk, reason=reason, reasons=reasons, notify=True
    )
