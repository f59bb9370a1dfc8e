"""Reads about programs, always scoped to what the user may see. Claims read from here: the
rule in force on a date, approved accounts, applications and qualifications."""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from programs.models import (
    ApprovalStep,
    CorporateAccount,
    Program,
    ProgramRule,
    Qualification,
    SpecialApplication,
)
from ssa_ops.models import AuditEvent
from ssa_ops.personal_data import personal_lookup
from ssa_ops.roles import Role
from ssa_ops.sorting import Sorting

PROGRAM_SORTING = Sorting(
    {"code": ("code",), "type": ("type", "code"), "name": ("name_zh",)}, default="code"
)
ACCOUNT_SORTING = Sorting(
    {
        "number": ("id",),
        "company": ("company_name",),
        "credit_code": ("credit_code",),
        "dealer": ("dealer__code",),
        "status": ("status",),
        "fleet_size": ("fleet_size",),
        "submitted": ("submitted_at",),
        "created": ("created_at",),
    },
    default="-created",
)
APPLICATION_SORTING = Sorting(
    {
        "number": ("id",),
        "ssa_number": ("ssa_number",),
        "program": ("program__code",),
        "applicant": ("applicant_name",),
        "dealer": ("dealer__code",),
        "model": ("vehicle_model__code",),
        "status": ("status",),
        "submitted": ("submitted_at",),
        "created": ("created_at",),
    },
    default="-created",
)
QUALIFICATION_SORTING = Sorting(
    {
        "number": ("id",),
        "customer": ("customer_name",),
        "employer": ("employer_name",),
        "dealer": ("dealer__code",),
        "vendor": ("vendor__name",),
        "status": ("status",),
        "submitted": ("submitted_at",),
        "created": ("created_at",),
    },
    default="-created",
)


# Catalog and rules ------------------------------------------------------------------------------


def program_list(*, user):
    if not user.is_authenticated or not user.has_perm("programs.view_program"):
        return Program.objects.none()
    return Program.objects.select_related("checking_vendor")


def program_get(*, user, pk) -> Program:
    program = program_list(user=user).filter(pk=pk).first()
    if program is None:
        raise Http404
    return program


def program_rule_on(*, program_id, on_date: datetime.date) -> ProgramRule | None:
    """The rule of program P on date D, in one query: the latest version starting on or before D
    (versions never change, so this is the rule a record dated D was evaluated against)."""
    return (
        ProgramRule.objects.select_related("program")
        .filter(program_id=program_id, valid_from__lte=on_date)
        .order_by("-valid_from", "-version")
        .first()
    )


def program_rules(*, program) -> list[ProgramRule]:
    """Every version, newest first, each with the date its successor took over (valid_to)."""
    rules = list(ProgramRule.objects.filter(program=program).select_related("created_by"))
    rules.sort(key=lambda rule: rule.valid_from, reverse=True)
    successor = None
    today = timezone.localdate()
    for index, rule in enumerate(rules):
        rule.valid_to = successor - datetime.timedelta(days=1) if successor else None
        # the latest version may be taken back until its first day
        rule.withdrawable = index == 0 and rule.valid_from > today
        successor = rule.valid_from
    return rules


# Scoping ----------------------------------------------------------------------------------------


def _dealer_scoped(queryset, user):
    if user.role == Role.DEALER:
        return queryset.filter(dealer_id=user.dealer_id) if user.dealer_id else queryset.none()
    if user.role == Role.REGION_MANAGER:
        return queryset.filter(dealer__region__in=user.regions.all())
    if user.role == Role.VENDOR:
        return queryset.none()
    return queryset


def corporate_account_list(*, user):
    if not user.is_authenticated or not user.has_perm("programs.view_corporateaccount"):
        return CorporateAccount.objects.none()
    return _dealer_scoped(
        CorporateAccount.objects.select_related("dealer", "created_by", "decided_by"), user
    )


def corporate_account_get(*, user, pk) -> CorporateAccount:
    account = corporate_account_list(user=user).filter(pk=pk).first()
    if account is None:
        raise Http404
    return account


def corporate_account_search(*, user, queue=False, query="", status="", dealer=None):
    accounts = corporate_account_list(user=user)
    if queue:
        accounts = accounts.filter(status=CorporateAccount.Status.SUBMITTED)
    query = (query or "").strip()
    if query:
        condition = (
            Q(company_name__icontains=query)
            | Q(credit_code__iexact=query)
            | Q(dealer__code__icontains=query)
        )
        number = query.upper().removeprefix("CA-").lstrip("0")
        if number.isdigit() and len(number) < 10:
            condition |= Q(pk=int(number))
        accounts = accounts.filter(condition)
    if status:
        accounts = accounts.filter(status=status)
    if dealer:
        accounts = accounts.filter(dealer=dealer)
    return accounts


def corporate_accounts_usable(*, dealer_id):
    """Approved accounts a dealer may name in pre-applications and claims."""
    return CorporateAccount.objects.filter(
        dealer_id=dealer_id, status=CorporateAccount.Status.APPROVED
    )


def special_application_list(*, user):
    if not user.is_authenticated or not user.has_perm("programs.view_specialapplication"):
        return SpecialApplication.objects.none()
    return _dealer_scoped(
        SpecialApplication.objects.select_related(
            "program", "rule", "dealer", "vehicle_model", "created_by"
        ),
        user,
    )


def special_application_get(*, user, pk) -> SpecialApplication:
    application = special_application_list(user=user).filter(pk=pk).first()
    if application is None:
        raise Http404
    return application


def special_application_search(*, user, query="", status="", program=None, queue=False):
    applications = special_application_list(user=user)
    if queue:
        applications = applications.filter(status__in=SpecialApplication.OPEN_STATES)
    query = (query or "").strip()
    if query:
        condition = (
            Q(applicant_name__icontains=query)
            | Q(ssa_number__iexact=query)
            | Q(dealer__code__icontains=query)
            | personal_lookup(SpecialApplication, "id_number", query)
        )
        number = query.upper().removeprefix("AP-").lstrip("0")
        if number.isdigit() and len(number) < 10:
            condition |= Q(pk=int(number))
        applications = applications.filter(condition)
    if status:
        applications = applications.filter(status=status)
    if program:
        applications = applications.filter(program=program)
    return applications


def application_steps(application) -> list[ApprovalStep]:
    return list(application.steps.order_by("position"))


def application_timeline(application):
    """The application's own events and its approval steps', newest first."""
    step_ids = [str(pk) for pk in application.steps.values_list("pk", flat=True)]
    return (
        AuditEvent.objects.filter(
            Q(
                content_type=ContentType.objects.get_for_model(SpecialApplication),
                object_id=str(application.pk),
            )
            | Q(
                content_type=ContentType.objects.get_for_model(ApprovalStep), object_id__in=step_ids
            )
        )
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )


def special_application_usable(*, id_number: str, on_date: datetime.date, program_id=None):
    """Approved applications of a customer (by ID number) valid on a date, with units left:
    what a pre-application or a claim may take its entitlement from."""
    applications = SpecialApplication.objects.filter(
        personal_lookup(SpecialApplication, "id_number", id_number),
        status=SpecialApplication.Status.APPROVED,
        valid_from__lte=on_date,
        valid_until__gte=on_date,
    ).select_related("program", "rule")
    if program_id:
        applications = applications.filter(program_id=program_id)
    return [a for a in applications if a.units_left > 0]


def qualification_list(*, user):
    if not user.is_authenticated or not user.has_perm("programs.view_qualification"):
        return Qualification.objects.none()
    qualifications = Qualification.objects.select_related(
        "program", "dealer", "vendor", "created_by", "checked_by", "decided_by"
    )
    if user.role == Role.VENDOR:
        if not user.vendor_id:
            return qualifications.none()
        return qualifications.filter(vendor_id=user.vendor_id).exclude(
            status=Qualification.Status.DRAFT
        )
    return _dealer_scoped(qualifications, user)


def qualification_get(*, user, pk) -> Qualification:
    qualification = qualification_list(user=user).filter(pk=pk).first()
    if qualification is None:
        raise Http404
    return qualification


def qualification_search(*, user, query="", status="", queue=False):
    qualifications = qualification_list(user=user)
    if queue:
        waiting = (
            [Qualification.Status.CHECKING]
            if user.role == Role.VENDOR
            else [Qualification.Status.PASSED, Qualification.Status.FAILED]
        )
        qualifications = qualifications.filter(status__in=waiting)
    query = (query or "").strip()
    if query:
        condition = (
            Q(customer_name__icontains=query)
            | Q(employer_name__icontains=query)
            | Q(dealer__code__icontains=query)
            | personal_lookup(Qualification, "id_number", query)
        )
        number = query.upper().removeprefix("QU-").lstrip("0")
        if number.isdigit() and len(number) < 10:
            condition |= Q(pk=int(number))
        qualifications = qualifications.filter(condition)
    if status:
        qualifications = qualifications.filter(status=status)
    return qualifications


def qualification_approved_for(*, program_id, id_number: str) -> Qualification | None:
    """The approved qualification a claim under a corporate-employee program needs for its
    customer (None when there is none)."""
    return (
        Qualification.objects.filter(
            personal_lookup(Qualification, "id_number", id_number),
            program_id=program_id,
            status=Qualification.Status.APPROVED,
        )
        .order_by("-decided_at")
        .first()
    )


# Dashboard --------------------------------------------------------------------------------------


def dashboard_programs(user) -> dict | None:
    """The home page's programs panel: what waits for the user, per queue."""
    counts = []
    if user.has_perm("programs.decide_corporateaccount"):
        counts.append(
            (
                "accounts",
                corporate_account_list(user=user)
                .filter(status=CorporateAccount.Status.SUBMITTED)
                .count(),
            )
        )
    if user.has_perm("programs.change_specialapplication"):
        counts.append(
            (
                "signing",
                special_application_list(user=user)
                .filter(status=SpecialApplication.Status.SIGNING)
                .count(),
            )
        )
    if user.has_perm("programs.check_qualification") or user.has_perm(
        "programs.decide_qualification"
    ):
        counts.append(
            ("qualifications", qualification_search(user=user, queue=True).count()),
        )
    if user.role == Role.DEALER and user.has_perm("programs.view_corporateaccount"):
        by_status = dict(
            corporate_account_list(user=user)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        counts.append(("reset", by_status.get(CorporateAccount.Status.RESET, 0)))
    return {"counts": dict(counts)} if counts else None


# Retention: when a record's personal data may go -------------------------------------------------


def applications_closed_before(queryset, cutoff):
    """Applications finished before `cutoff`: rejected, cancelled or expired."""
    return queryset.filter(
        status__in=[
            SpecialApplication.Status.REJECTED,
            SpecialApplication.Status.CANCELLED,
            SpecialApplication.Status.EXPIRED,
        ],
        updated_at__lt=cutoff,
    )


def qualifications_closed_before(queryset, cutoff):
    """Qualifications decided before `cutoff`, rejected or approved: claims use an approval
    within their claim window, long before the retention period after it has passed."""
    return queryset.filter(
        status__in=[Qualification.Status.REJECTED, Qualification.Status.APPROVED],
        updated_at__lt=cutoff,
    )
