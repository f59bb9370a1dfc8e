"""Pages: the ops queue and claim detail, the dealer portal's lists and forms. Every page goes
through a selector (scope) and writes through a service."""

import datetime
import io

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from claims import selectors, services
from claims.forms import ClaimForm, DocumentsForm, PreApplicationForm
from claims.models import Claim, InvoiceCheckResult, PreApplication
from programs.models import DocumentType
from ssa_ops.attachments import attachments_for
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import ApplicationError
from ssa_ops.excel_export import workbook_open
from ssa_ops.reasons import reason_choices
from ssa_ops.roles import Role
from ssa_ops.texts import text_render
from ssa_ops.validation import query_text
from ssa_ops.workflow import transition_meta

# The states counted beside the queue's filters (capped counts: cheap on a large table).
COUNTED_STATES = (
    Claim.Status.SUBMITTED,
    Claim.Status.RESUBMITTED,
    Claim.Status.IN_REVIEW,
    Claim.Status.RESET,
)
# SLA bands of the queue, in working days waiting.
SLA_DUE_SOON_DAYS, SLA_OVERDUE_DAYS = 2, 5


def _form_errors(form, error: ValidationError):
    if not hasattr(error, "error_dict"):
        form.add_error(None, " ".join(error.messages))
        return
    for field, messages_ in error.message_dict.items():
        for message in messages_:
            form.add_error(field if field in form.fields else None, message)


def _own_dealer(request):
    if request.user.role != Role.DEALER or not request.user.dealer_id:
        raise Http404
    return request.user.dealer


def _positive(params, name):
    text = query_text(params, name, max_length=9)
    return int(text) if text.isdigit() and int(text) > 0 else None


def _checklist(record):
    codes = record.rule.documents_for(record.document_stage)
    names = {t.code: t.name for t in DocumentType.objects.filter(code__in=codes)}
    return [(code, names.get(code, code)) for code in codes]


# Claims ------------------------------------------------------------------------------------------


def _claims_filtered(request, params=None):
    """The claims the page's filters ask for, in its order: ops see the queue (what waits,
    oldest first) unless a state is chosen; a dealer its claims of any state. The export and
    a bulk decision "on every matching claim" read the same (`params`: the list's query)."""
    params = request.GET if params is None else params
    state = query_text(params, "status", max_length=20)
    if state not in Claim.Status.values:
        state = ""
    dealer_view = request.user.role == Role.DEALER
    filters = selectors.QueueFilters(
        status=state,
        program=_positive(params, "program"),
        dealer=_positive(params, "dealer"),
        region=_positive(params, "region"),
        older_than_days=_positive(params, "older_than_days"),
        assigned_to_me=params.get("mine") == "1",
        flagged=params.get("flagged") == "1",
        invoice_check=_invoice_check_filter(params),
        query=query_text(params, "q", max_length=30),
    )
    sort = query_text(params, "sort", max_length=20)
    if sort.lstrip("-") not in selectors.CLAIM_SORTING.options:
        sort = ""
    if dealer_view and not state and not filters.query:
        claims = selectors.claim_list(user=request.user).order_by("-pk")
    else:
        if state in ("draft", "withdrawn") and sort.lstrip("-") in ("", "waiting"):
            sort = "-number"
        claims = selectors.claim_queue(user=request.user, filters=filters, sort=sort)
    return claims, filters, state, sort, dealer_view


def _invoice_check_filter(params) -> str:
    value = query_text(params, "invoice_check", max_length=20)
    return value if value in InvoiceCheckResult.values else ""


def _dealer_todo(user) -> dict:
    """What the dealer should do first: resets to answer (oldest deadline first) and
    pre-applications that expire within 14 days."""
    resets = list(
        selectors.claim_list(user=user)
        .filter(status=Claim.Status.RESET)
        .order_by("decided_at", "pk")[:20]
    )
    expiring = list(
        selectors.preapplication_list(user=user)
        .filter(
            status=PreApplication.Status.APPROVED,
            valid_until__lte=timezone.localdate() + datetime.timedelta(days=14),
        )
        .order_by("valid_until", "pk")[:20]
    )
    return {"resets": resets, "expiring": expiring}


@permission_required("claims.view_claim", raise_exception=True)
def claim_index(request):
    """Ops: the work queue (what waits, oldest first); a dealer: its claims, any state."""
    claims, filters, state, sort, dealer_view = _claims_filtered(request)
    try:
        cursor = query_text(request, "after", max_length=500)
        after = selectors.cursor_decode(cursor, claims) if cursor else None
    except ValueError:
        after = None  # a cursor typed by hand: the first page
    rows, last = selectors.keyset_page(claims, after=after)
    today = timezone.localdate()
    for claim in rows:
        waiting = claim.queued_at and claim.status in (*Claim.QUEUE_STATES, Claim.Status.IN_REVIEW)
        claim.age_days, claim.sla_deadline, claim.sla = None, None, ""
        if waiting:
            claim.age_days, claim.sla_deadline = selectors.working_days_waiting(
                claim.queued_at, today=today, limit=SLA_OVERDUE_DAYS
            )
            claim.sla = (
                "overdue"
                if claim.age_days >= SLA_OVERDUE_DAYS
                else "due-soon"
                if claim.age_days >= SLA_DUE_SOON_DAYS
                else "on-time"
            )
    labels = dict(Claim.Status.choices)
    next_query = None
    if last is not None:
        params = request.GET.copy()
        params["after"] = selectors.cursor_encode(last)
        next_query = params.urlencode()
    return render(
        request,
        "claims/claim_list.html",
        {
            "claims": rows,
            "statuses": Claim.Status.choices,
            "invoice_check_choices": InvoiceCheckResult.choices,
            "state": state,
            "sort": sort,
            "next_query": next_query,
            "dealer_view": dealer_view,
            "filters": filters,
            "todo": _dealer_todo(request.user) if dealer_view else None,
            "state_counts": [
                (value, labels[value], n, capped)
                for value, n, capped in selectors.claim_state_counts(
                    user=request.user, filters=filters, states=COUNTED_STATES
                )
            ],
            "reason_choices": reason_choices("claims.claim")
            if request.user.has_perm("claims.decide_claim")
            else [],
            "list_query": _list_query(request),
        },
    )


def _list_query(request) -> str:
    """The list's filters and sort, without the page position."""
    params = request.GET.copy()
    params.pop("after", None)
    return params.urlencode()


def _bulk_claim_ids(request) -> tuple[list[int], int | None]:
    """The claims a bulk decision is about: the ticked ones, or every claim matching the
    list's filters (as far as the highest id seen at the preview, so a claim that arrived
    after the preview is not decided unseen). Returns (ids, highest id)."""
    if request.POST.get("scope") != "filter":
        ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit() and len(pk) < 10]
        return services.claims_bulk_scope(actor=request.user, claim_ids=ids), None
    claims, *_rest = _claims_filtered(request, QueryDict(request.POST.get("filter", "")[:2000]))
    upto = request.POST.get("upto", "")
    if upto.isdigit() and len(upto) < 10:
        claims = claims.filter(pk__lte=int(upto))
    ids = list(claims.order_by("pk").values_list("pk", flat=True)[: services.BULK_MAX_CLAIMS + 1])
    if not ids:
        raise ValidationError(_("No claim matches these filters."))
    return services.claims_bulk_scope(actor=request.user, claim_ids=ids), ids[-1]


@require_POST
@permission_required("claims.decide_claim", raise_exception=True)
def claim_bulk(request):
    """Decide the claims ticked on the queue page, or every claim matching its filters (always
    previewed first: how many would be decided, how many skipped and why). Up to the inline
    limit at once, else a job whose page shows its progress and what was skipped."""
    decision = request.POST.get("decision", "")
    listed = QueryDict(request.POST.get("filter", "")[:2000], mutable=True)
    listed.pop("after", None)
    back = reverse("claims:list") + "?" + listed.urlencode()
    try:
        ids, upto = _bulk_claim_ids(request)
        if request.POST.get("step") != "confirm" and (
            request.POST.get("step") == "preview" or upto is not None
        ):
            preview = services.claims_bulk_preview(
                actor=request.user,
                claim_ids=ids,
                decision=decision,
                reasons=request.POST.getlist("reasons"),
                reason=request.POST.get("reason", ""),
            )
            for group in preview["skipped"]:
                group["message"] = text_render(group["message"])
            return render(
                request,
                "claims/claim_bulk_preview.html",
                {
                    "preview": preview,
                    "decision": decision,
                    # the decision was checked by the preview: its words are the transition's
                    "decision_label": transition_meta(Claim, decision)["label"],
                    "ids": ids if upto is None else [],
                    "upto": upto,
                    "post": request.POST,
                    "reasons": request.POST.getlist("reasons"),
                    "back": back,
                },
            )
        decided, skipped, job = services.claims_bulk_start(
            actor=request.user,
            claim_ids=ids,
            decision=decision,
            reasons=request.POST.getlist("reasons"),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(back)
    if job is not None:
        return redirect("job-detail", job_id=job.pk)
    messages.success(
        request,
        _("%(done)s claims decided, %(skipped)s skipped.")
        % {"done": len(decided), "skipped": len(skipped)},
    )
    for row in skipped:
        messages.warning(request, f"{row['record']}: {text_render(row['message'])}")
    return redirect(back)


@permission_required("claims.decide_claim", raise_exception=True)
def claim_take_next(request):
    """Pick up the claim that has waited longest and open it."""
    claim = services.claim_take_next(actor=request.user)
    if claim is None:
        messages.info(request, _("No claim is waiting."))
        return redirect("claims:list")
    return redirect("claims:detail", pk=claim.pk)


@permission_required("claims.view_claim", raise_exception=True)
def claim_detail(request, pk):
    claim = selectors.claim_get(user=request.user, pk=pk)
    events = list(audit_events_for(claim))
    editable = (
        request.user.has_perm("claims.change_claim") and claim.status in Claim.EDITABLE_STATES
    )
    return render(
        request,
        "claims/claim_detail.html",
        {
            "claim": claim,
            "attachments": attachments_for(claim),
            "events": events,
            "missing": selectors.documents_missing(claim),
            "duplicates": selectors.claim_duplicates(claim=claim, user=request.user),
            "overdue": claim.status == Claim.Status.DRAFT
            and claim.submit_deadline < timezone.localdate(),
            "last_reset": next((e for e in events if e.action == "reset"), None)
            if claim.status == Claim.Status.RESET
            else None,
            "can_edit": editable,
            "documents_form": DocumentsForm(checklist=_checklist(claim)) if editable else None,
            "invoice_checks": selectors.invoice_checks_for(claim),
        },
    )


# The invoice check -------------------------------------------------------------------------------


@require_POST
@permission_required("claims.decide_claim", raise_exception=True)
def invoice_check_review(request, pk, check_id):
    """Ops accept a field of the invoice check, or override what was read, with a reason."""
    check = selectors.invoice_check_get(user=request.user, claim_pk=pk, pk=check_id)
    try:
        services.invoice_check_review(
            actor=request.user,
            pk=check.pk,
            field=request.POST.get("field", "")[:30],
            action=request.POST.get("action", ""),
            value=request.POST.get("value", ""),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(reverse("claims:detail", args=[pk]) + "#invoice-check")


@require_POST
@permission_required("claims.decide_claim", raise_exception=True)
def invoice_check_rerun(request, pk, check_id):
    check = selectors.invoice_check_get(user=request.user, claim_pk=pk, pk=check_id)
    try:
        services.invoice_check_rerun(actor=request.user, pk=check.pk)
        messages.success(request, _("The invoice is being read again."))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(reverse("claims:detail", args=[pk]) + "#invoice-check")


@permission_required("claims.view_claim", raise_exception=True)
def invoice_check_page(request, pk, check_id):
    """The page as the reader saw it, which the outlined fields refer to."""
    check = selectors.invoice_check_get(user=request.user, claim_pk=pk, pk=check_id)
    if not check.page_image:
        raise Http404
    response = FileResponse(check.page_image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _claim_form_page(request, claim=None):
    dealer = _own_dealer(request)
    initial = {}
    if claim is not None:
        initial = {
            name: getattr(claim, name)
            for name in (
                "program",
                "corporate_account",
                "special_application",
                "pre_application",
                "vin",
                "invoice_number",
                "invoice_date",
                "invoice_amount",
                "buyer_name",
                "buyer_credit_code",
                "delivery_date",
            )
        }
        initial["vehicle_model"] = claim.vehicle_model.code
    form = ClaimForm(request.POST or None, dealer=dealer, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if claim is None:
                claim = services.claim_create(
                    actor=request.user, dealer=dealer, values=form.values()
                )
            else:
                claim = services.claim_update(actor=request.user, pk=claim.pk, values=form.values())
        except ValidationError as error:
            _form_errors(form, error)
        except ApplicationError as error:
            form.add_error("vin" if error.code == "vin_claimed" else None, error.message)
        else:
            messages.success(request, _("%(n)s saved.") % {"n": claim.number})
            return redirect("claims:detail", pk=claim.pk)
    return render(request, "claims/claim_form.html", {"form": form, "claim": claim})


@permission_required("claims.add_claim", raise_exception=True)
def claim_new(request):
    return _claim_form_page(request)


@permission_required("claims.change_claim", raise_exception=True)
def claim_edit(request, pk):
    claim = selectors.claim_get(user=request.user, pk=pk)
    if claim.status not in Claim.EDITABLE_STATES:
        messages.error(request, _("Only a draft or a record reset to the dealer can be edited."))
        return redirect("claims:detail", pk=claim.pk)
    return _claim_form_page(request, claim)


def _documents_post(request, *, record, add, detail):
    form = DocumentsForm(request.POST, request.FILES, checklist=_checklist(record))
    if not form.is_valid():
        messages.error(request, _("Choose the document and a file."))
        return redirect(detail, pk=record.pk)
    try:
        add(
            actor=request.user,
            pk=record.pk,
            purpose=form.cleaned_data["purpose"],
            documents=request.FILES.getlist("documents"),
        )
        messages.success(request, _("Documents added."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(detail, pk=record.pk)


@require_POST
@permission_required("claims.change_claim", raise_exception=True)
def claim_documents(request, pk):
    claim = selectors.claim_get(user=request.user, pk=pk)
    return _documents_post(
        request, record=claim, add=services.claim_documents_add, detail="claims:detail"
    )


# Pre-applications --------------------------------------------------------------------------------


@permission_required("claims.view_preapplication", raise_exception=True)
def preapplication_index(request):
    queue = request.GET.get("queue") == "1"
    records = (
        selectors.preapplication_queue(user=request.user).order_by("queued_at", "pk")
        if queue
        else selectors.preapplication_list(user=request.user).order_by("-pk")
    )
    state = query_text(request, "status", max_length=20)
    if not queue and state in PreApplication.Status.values:
        records = records.filter(status=state)
    after = query_text(request, "after", max_length=9)
    if after.isdigit() and not queue:
        records = records.filter(pk__lt=int(after))
    rows = list(records[: selectors.QUEUE_PAGE_SIZE + 1])
    next_query = None
    if len(rows) > selectors.QUEUE_PAGE_SIZE and not queue:
        rows = rows[: selectors.QUEUE_PAGE_SIZE]
        params = request.GET.copy()
        params["after"] = rows[-1].pk
        next_query = params.urlencode()
    return render(
        request,
        "claims/preapplication_list.html",
        {
            "records": rows[: selectors.QUEUE_PAGE_SIZE],
            "queue": queue,
            "statuses": PreApplication.Status.choices,
            "state": state,
            "next_query": next_query,
        },
    )


@permission_required("claims.view_preapplication", raise_exception=True)
def preapplication_detail(request, pk):
    record = selectors.preapplication_get(user=request.user, pk=pk)
    events = list(audit_events_for(record))
    editable = (
        request.user.has_perm("claims.change_preapplication")
        and record.status in PreApplication.EDITABLE_STATES
    )
    return render(
        request,
        "claims/preapplication_detail.html",
        {
            "record": record,
            "attachments": attachments_for(record),
            "events": events,
            "missing": selectors.documents_missing(record),
            "last_reset": next((e for e in events if e.action == "reset"), None)
            if record.status == PreApplication.Status.RESET
            else None,
            "can_edit": editable,
            "documents_form": DocumentsForm(checklist=_checklist(record)) if editable else None,
        },
    )


def _preapplication_form_page(request, record=None):
    dealer = _own_dealer(request)
    initial = {}
    if record is not None:
        initial = {
            "program": record.program,
            "corporate_account": record.corporate_account,
            "special_application": record.special_application,
            "customer_name": record.customer_name,
            "delivery_month": record.delivery_month,
        }
        for index, line in enumerate(record.lines[: PreApplicationForm.LINES], start=1):
            initial[f"model_{index}"], initial[f"units_{index}"] = line["model"], line["units"]
    form = PreApplicationForm(request.POST or None, dealer=dealer, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        if record is not None and not values["customer_id_number"]:
            values["customer_id_number"] = record.customer_id_number.reveal()
        try:
            if record is None:
                record = services.preapplication_create(
                    actor=request.user, dealer=dealer, values=values
                )
            else:
                record = services.preapplication_update(
                    actor=request.user, pk=record.pk, values=values
                )
        except ValidationError as error:
            _form_errors(form, error)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("%(n)s saved.") % {"n": record.number})
            return redirect("claims:preapplication-detail", pk=record.pk)
    return render(request, "claims/preapplication_form.html", {"form": form, "record": record})


@permission_required("claims.add_preapplication", raise_exception=True)
def preapplication_new(request):
    return _preapplication_form_page(request)


@permission_required("claims.change_preapplication", raise_exception=True)
def preapplication_edit(request, pk):
    record = selectors.preapplication_get(user=request.user, pk=pk)
    if record.status not in PreApplication.EDITABLE_STATES:
        messages.error(request, _("Only a draft or a record reset to the dealer can be edited."))
        return redirect("claims:preapplication-detail", pk=record.pk)
    return _preapplication_form_page(request, record)


@require_POST
@permission_required("claims.change_preapplication", raise_exception=True)
def preapplication_documents(request, pk):
    record = selectors.preapplication_get(user=request.user, pk=pk)
    return _documents_post(
        request,
        record=record,
        add=services.preapplication_documents_add,
        detail="claims:preapplication-detail",
    )


def dashboard_claims(user) -> dict | None:
    """The home page's claims panel: ops see what waits in the queue, a dealer its to-do."""
    if not user.has_perm("claims.view_claim"):
        return None
    if user.has_perm("claims.decide_claim"):
        waiting = selectors.claim_list(user=user).filter(status__in=Claim.QUEUE_STATES)
        return {
            "waiting": waiting.count(),
            "mine": selectors.claim_list(user=user)
            .filter(status=Claim.Status.IN_REVIEW, assigned_to=user)
            .count(),
            "queue_url": reverse("claims:list"),
            "invoice_checks": selectors.claim_invoice_check_counts(user=user),
        }
    if user.role == Role.DEALER:
        claims = selectors.claim_list(user=user)
        return {
            "resets": claims.filter(status=Claim.Status.RESET).count(),
            "drafts": claims.filter(status=Claim.Status.DRAFT).count(),
            "expiring": selectors.preapplication_list(user=user)
            .filter(
                status=PreApplication.Status.APPROVED,
                valid_until__lte=timezone.localdate() + datetime.timedelta(days=14),
            )
            .count(),
        }
    return None


# Settlement --------------------------------------------------------------------------------------


@permission_required("claims.view_claim", raise_exception=True)
def settlement_index(request):
    """The settlement batches in scope; ops leads settle an ended month from here."""
    if request.method == "POST":
        if not request.user.has_perm("claims.settle_claims"):
            raise PermissionDenied
        try:
            month = datetime.date.fromisoformat(request.POST.get("month", "")[:7] + "-01")
            job = services.settlement_start(actor=request.user, month=month)
        except ValueError:
            messages.error(request, _("Enter a month as YYYY-MM."))
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            return redirect("job-detail", job_id=job.pk)
        return redirect("claims:settlement-list")
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    return render(
        request,
        "claims/settlement_list.html",
        {
            "batches": selectors.settlement_list(user=request.user)[:200],
            "last_month": f"{last_month:%Y-%m}",
        },
    )


@permission_required("claims.view_claim", raise_exception=True)
def settlement_statement(request, pk):
    batch = selectors.settlement_list(user=request.user).filter(pk=pk).first()
    if batch is None:
        raise Http404
    return FileResponse(
        io.BytesIO(services.settlement_statement(batch)),
        as_attachment=True,
        filename=f"{batch.number}.xlsx",
    )


@permission_required("claims.view_claim", raise_exception=True)
def claim_export(request):
    """The list as shown (same filters and order) as an Excel workbook, written row by row
    in constant memory; codes and their words in columns of their own."""
    claims, *_rest = _claims_filtered(request)
    output = io.BytesIO()
    workbook = workbook_open(output, constant_memory=True)
    sheet = workbook.add_worksheet(_("Claims")[:31])
    headers = [
        _("Number"),
        _("Status"),
        _("Status code"),
        _("Dealer"),
        _("Program"),
        "VIN",
        _("Model"),
        _("Invoice number"),
        _("Invoice date"),
        _("Amount including tax (CNY)"),
        _("Support amount"),
        _("Waiting since"),
        _("Reviewer"),
        _("Flags"),
    ]
    sheet.write_row(0, 0, headers)
    labels = dict(Claim.Status.choices)
    for row, claim in enumerate(claims.iterator(chunk_size=2000), start=1):
        flags = [
            code
            for code, on in (
                ("duplicate_invoice", claim.duplicate_invoice),
                ("duplicate_document", claim.duplicate_document),
            )
            if on
        ]
        sheet.write_row(
            row,
            0,
            [
                claim.number,
                str(labels.get(claim.status, claim.status)),
                claim.status,
                claim.dealer.code,
                claim.program.code,
                claim.vin,
                claim.vehicle_model.code,
                claim.invoice_number,
                claim.invoice_date.isoformat(),
                float(claim.invoice_amount),
                float(claim.support_amount),
                f"{timezone.localtime(claim.queued_at):%Y-%m-%d %H:%M}" if claim.queued_at else "",
                claim.assigned_to.username if claim.assigned_to else "",
                ", ".join(flags),
            ],
        )
    workbook.close()
    output.seek(0)
    return FileResponse(output, as_attachment=True, filename="claims.xlsx")
