from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dealers.selectors import dealer_list
from programs import selectors, services
from programs.forms import (
    AccountForm,
    ApplicationForm,
    ListFilterForm,
    QualificationForm,
    ReassignForm,
    RuleForm,
)
from programs.models import (
    ApprovalStep,
    CorporateAccount,
    Program,
    Qualification,
    SpecialApplication,
    VehicleModel,
)
from ssa_ops.attachments import attachments_for
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import ApplicationError
from ssa_ops.roles import Role

PAGE_SIZE = 25


def _form_errors(form, error: ValidationError):
    if not hasattr(error, "error_dict"):
        form.add_error(None, " ".join(error.messages))
        return
    for field, messages_ in error.message_dict.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


def _list_page(request, *, queryset_for, sorting, statuses, template, title, extra=None):
    form = ListFilterForm(request.GET or None, statuses=statuses)
    filters = form.filters()
    records, sort = sorting.apply(queryset_for(**filters), request.GET.get("sort", ""))
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    # Counts per state beside the filters: the same filters, any state, one query.
    counted = dict(
        queryset_for(**{**filters, "status": ""})
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    state_counts = [
        {
            "value": value,
            "label": label,
            "count": counted[value],
            "active": value == filters["status"],
        }
        for value, label in statuses
        if counted.get(value)
    ]
    return render(
        request,
        template,
        {
            "page": page,
            "form": form,
            "sort": sort,
            "title": title,
            "state_counts": state_counts,
            **(extra or {}),
        },
    )


# Catalog and rules ------------------------------------------------------------------------------


@permission_required("programs.view_program", raise_exception=True)
def program_index(request):
    kind = request.GET.get("type", "")
    programs = selectors.program_list(user=request.user)
    if kind in Program.Type.values:
        programs = programs.filter(type=kind)
    programs, sort = selectors.PROGRAM_SORTING.apply(programs, request.GET.get("sort", ""))
    return render(
        request,
        "programs/program_list.html",
        {
            "programs": programs,
            "sort": sort,
            "types": Program.Type.choices,
            "type": kind,
            "vehicle_models": VehicleModel.objects.order_by("series", "code"),
        },
    )


@permission_required("programs.view_program", raise_exception=True)
def program_detail(request, pk):
    program = selectors.program_get(user=request.user, pk=pk)
    return render(
        request,
        "programs/program_detail.html",
        {
            "program": program,
            "rules": selectors.program_rules(program=program),
            "events": audit_events_for(program)[:100],
        },
    )


@permission_required("programs.add_programrule", raise_exception=True)
def program_rule_new(request, pk):
    program = selectors.program_get(user=request.user, pk=pk)
    rules = selectors.program_rules(program=program)
    form = RuleForm(
        request.POST or None, initial=RuleForm.initial_from(rules[0] if rules else None)
    )
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.program_rule_revise(
                actor=request.user,
                program_id=program.pk,
                valid_from=form.cleaned_data["valid_from"],
                values=form.values(),
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _("Version %(version)s of the rules applies from %(date)s.")
                % {"version": rule.version, "date": rule.valid_from.isoformat()},
            )
            return redirect("programs:detail", pk=program.pk)
    return render(request, "programs/rule_form.html", {"program": program, "form": form})


@require_POST
@permission_required("programs.add_programrule", raise_exception=True)
def program_rule_withdraw(request, pk, rule_pk):
    program = selectors.program_get(user=request.user, pk=pk)
    rule = next((r for r in selectors.program_rules(program=program) if r.pk == rule_pk), None)
    if rule is None:
        raise Http404
    try:
        services.program_rule_withdraw(actor=request.user, rule_id=rule.pk)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("Version %(version)s was withdrawn.") % {"version": rule.version}
        )
    return redirect("programs:detail", pk=program.pk)


# Corporate accounts -----------------------------------------------------------------------------


@permission_required("programs.view_corporateaccount", raise_exception=True)
def account_index(request):
    queue = request.GET.get("queue") == "1"
    return _list_page(
        request,
        queryset_for=lambda **filters: selectors.corporate_account_search(
            user=request.user, queue=queue, **filters
        ),
        sorting=selectors.ACCOUNT_SORTING,
        statuses=CorporateAccount.Status.choices,
        template="programs/account_list.html",
        title=_("Accounts to decide") if queue else _("Corporate accounts"),
        extra={"queue": queue},
    )


@permission_required("programs.decide_corporateaccount", raise_exception=True)
def account_take_next(request):
    """Open the account that has waited longest for a decision (not one the user filed)."""
    account = (
        selectors.corporate_account_search(user=request.user, queue=True)
        .exclude(created_by=request.user)
        .order_by("submitted_at", "pk")
        .first()
    )
    if account is None:
        messages.info(request, _("No account waits for a decision."))
        return redirect(reverse("programs:account-list") + "?queue=1")
    return redirect("programs:account-detail", pk=account.pk)


def _account_save(request, form, account=None):
    try:
        if account is None:
            account = services.corporate_account_create(
                actor=request.user,
                dealer=_own_dealer(request),
                values=form.values(),
                documents=form.cleaned_data["documents"],
            )
        else:
            account = services.corporate_account_update(
                actor=request.user,
                pk=account.pk,
                values=form.values(),
                documents=form.cleaned_data["documents"],
            )
    except ValidationError as error:
        _form_errors(form, error)
        return None
    except ApplicationError as error:
        form.add_error("credit_code" if "credit_code" in error.code else None, error.message)
        return None
    if "submit" in request.POST:
        try:
            services.corporate_account_submit(actor=request.user, pk=account.pk)
            messages.success(request, _("%(n)s submitted to ops.") % {"n": account.number})
        except ApplicationError as error:
            messages.error(request, error.message)
    else:
        messages.success(request, _("%(n)s saved.") % {"n": account.number})
    return account


def _own_dealer(request):
    if request.user.role != Role.DEALER or not request.user.dealer_id:
        raise Http404
    return request.user.dealer


@permission_required("programs.add_corporateaccount", raise_exception=True)
def account_new(request):
    _own_dealer(request)
    form = AccountForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        account = _account_save(request, form)
        if account is not None:
            return redirect("programs:account-detail", pk=account.pk)
    return render(request, "programs/account_form.html", {"form": form, "account": None})


@permission_required("programs.change_corporateaccount", raise_exception=True)
def account_edit(request, pk):
    account = selectors.corporate_account_get(user=request.user, pk=pk)
    if account.status not in CorporateAccount.EDITABLE_STATES:
        messages.error(request, _("Only a draft or an account reset to the dealer can be edited."))
        return redirect("programs:account-detail", pk=account.pk)
    initial = {field: getattr(account, field) for field in AccountForm.VALUE_FIELDS}
    form = AccountForm(request.POST or None, request.FILES or None, initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and _account_save(request, form, account) is not None
    ):
        return redirect("programs:account-detail", pk=account.pk)
    return render(request, "programs/account_form.html", {"form": form, "account": account})


@permission_required("programs.view_corporateaccount", raise_exception=True)
def account_detail(request, pk):
    account = selectors.corporate_account_get(user=request.user, pk=pk)
    events = list(audit_events_for(account))
    return render(
        request,
        "programs/account_detail.html",
        {
            "account": account,
            "attachments": attachments_for(account),
            "events": events,
            "last_reset": next((e for e in events if e.action == "reset"), None)
            if account.status == CorporateAccount.Status.RESET
            else None,
            "can_edit": request.user.has_perm("programs.change_corporateaccount")
            and account.status in CorporateAccount.EDITABLE_STATES,
        },
    )


# Applications -----------------------------------------------------------------------------------


@permission_required("programs.view_specialapplication", raise_exception=True)
def application_index(request):
    return _list_page(
        request,
        queryset_for=lambda **filters: selectors.special_application_search(
            user=request.user, **filters
        ).prefetch_related("steps"),
        sorting=selectors.APPLICATION_SORTING,
        statuses=SpecialApplication.Status.choices,
        template="programs/application_list.html",
        title=_("Special sales applications"),
    )


@permission_required("programs.add_specialapplication", raise_exception=True)
def application_new(request):
    form = ApplicationForm(
        request.POST or None, request.FILES or None, dealers=dealer_list(user=request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = services.application_create(
                actor=request.user,
                program=data["program"],
                dealer=data["dealer"],
                vehicle_model=data["vehicle_model"],
                values=form.values(),
                documents=data["documents"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            if "submit" in request.POST:
                try:
                    services.application_submit(actor=request.user, pk=application.pk)
                    messages.success(
                        request,
                        _("%(n)s sent to its first approver.") % {"n": application.number},
                    )
                except ApplicationError as error:
                    messages.error(request, error.message)
            else:
                messages.success(request, _("%(n)s saved.") % {"n": application.number})
            return redirect("programs:application-detail", pk=application.pk)
    return render(request, "programs/application_form.html", {"form": form})


@permission_required("programs.view_specialapplication", raise_exception=True)
def application_detail(request, pk):
    application = selectors.special_application_get(user=request.user, pk=pk)
    steps = selectors.application_steps(application)
    can_manage = request.user.has_perm("programs.change_specialapplication")
    return render(
        request,
        "programs/application_detail.html",
        {
            "application": application,
            "support_amount": application.rule.support_amount(application.vehicle_model.code),
            "steps": steps,
            "attachments": attachments_for(application),
            "events": selectors.application_timeline(application),
            "can_manage_steps": can_manage
            and application.status == SpecialApplication.Status.SIGNING,
            "can_upload": can_manage and application.status == SpecialApplication.Status.DRAFT,
            "reassign_form": ReassignForm(),
        },
    )


@require_POST
@permission_required("programs.change_specialapplication", raise_exception=True)
def application_documents(request, pk):
    application = selectors.special_application_get(user=request.user, pk=pk)
    try:
        services.application_add_documents(
            actor=request.user, pk=application.pk, documents=request.FILES.getlist("documents")
        )
        messages.success(request, _("Documents added."))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("programs:application-detail", pk=application.pk)


@require_POST
@permission_required("programs.change_specialapplication", raise_exception=True)
def application_step(request, pk, step_pk):
    """Resend the current step's link, or reassign the step to another approver."""
    application = selectors.special_application_get(user=request.user, pk=pk)
    try:
        if request.POST.get("action") == "reassign":
            form = ReassignForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Give the new approver's name and email."))
                return redirect("programs:application-detail", pk=application.pk)
            step = services.approval_step_reassign(
                actor=request.user,
                application_pk=application.pk,
                step_pk=step_pk,
                **form.cleaned_data,
            )
        else:
            step = services.approval_step_resend(
                actor=request.user, application_pk=application.pk, step_pk=step_pk
            )
    except (ApplicationError, ValidationError) as error:
        messages.error(request, getattr(error, "message", None) or " ".join(error.messages))
    else:
        messages.success(
            request,
            _("A new link was sent to %(email)s; the earlier link no longer works.")
            % {"email": step.approver_email},
        )
    return redirect("programs:application-detail", pk=application.pk)


def link_page(link) -> dict:
    """What an approver's emailed link shows: the application and the chain so far."""
    step = ApprovalStep.objects.select_related(
        "application__program",
        "application__dealer",
        "application__vehicle_model",
        "application__rule",
    ).get(pk=link.object_id)
    application = step.application
    return {
        "template": "programs/link_application.html",
        "application": application,
        "step": step,
        "steps": selectors.application_steps(application),
        "id_number": str(application.id_number),  # masked: the approver has no account
        # HR checks the employee by it; shown masked like the ID number
        "employee_number": str(application.employee_number or ""),
        "support_amount": application.rule.support_amount(application.vehicle_model.code),
    }


def link_documents(link):
    step = ApprovalStep.objects.select_related("application").get(pk=link.object_id)
    return list(attachments_for(step.application))


# Qualifications ---------------------------------------------------------------------------------


@permission_required("programs.view_qualification", raise_exception=True)
def qualification_index(request):
    queue = request.GET.get("queue") == "1"
    return _list_page(
        request,
        queryset_for=lambda **filters: selectors.qualification_search(
            user=request.user, queue=queue, **filters
        ),
        sorting=selectors.QUALIFICATION_SORTING,
        statuses=Qualification.Status.choices,
        template="programs/qualification_list.html",
        title=_("Checks to do")
        if request.user.role == Role.VENDOR
        else _("Corporate-employee qualifications"),
        extra={"queue": queue},
    )


@permission_required("programs.view_qualification", raise_exception=True)
def qualification_take_next(request):
    """Open the qualification that has waited longest for the user (the vendor: checks; ops:
    decisions)."""
    qualification = (
        selectors.qualification_search(user=request.user, queue=True)
        .exclude(created_by=request.user)
        .order_by("submitted_at", "pk")
        .first()
    )
    if qualification is None:
        messages.info(request, _("Nothing waits for you here."))
        return redirect(reverse("programs:qualification-list") + "?queue=1")
    return redirect("programs:qualification-detail", pk=qualification.pk)


@permission_required("programs.add_qualification", raise_exception=True)
def qualification_new(request):
    dealer = _own_dealer(request)
    form = QualificationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            qualification = services.qualification_create(
                actor=request.user,
                program=form.cleaned_data["program"],
                dealer=dealer,
                values=form.values(),
                documents=form.cleaned_data["documents"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            if "submit" in request.POST:
                try:
                    services.qualification_submit(actor=request.user, pk=qualification.pk)
                    messages.success(
                        request, _("%(n)s sent for checking.") % {"n": qualification.number}
                    )
                except ApplicationError as error:
                    messages.error(request, error.message)
            return redirect("programs:qualification-detail", pk=qualification.pk)
    return render(request, "programs/qualification_form.html", {"form": form})


@permission_required("programs.view_qualification", raise_exception=True)
def qualification_detail(request, pk):
    qualification = selectors.qualification_get(user=request.user, pk=pk)
    return render(
        request,
        "programs/qualification_detail.html",
        {
            "qualification": qualification,
            "attachments": attachments_for(qualification),
            "events": audit_events_for(qualification),
            "can_upload": request.user.has_perm("programs.change_qualification")
            and qualification.status == Qualification.Status.DRAFT,
        },
    )


@require_POST
@permission_required("programs.change_qualification", raise_exception=True)
def qualification_documents(request, pk):
    qualification = selectors.qualification_get(user=request.user, pk=pk)
    try:
        services.qualification_add_proof(
            actor=request.user, pk=qualification.pk, documents=request.FILES.getlist("documents")
        )
        messages.success(request, _("Documents added."))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("programs:qualification-detail", pk=qualification.pk)
