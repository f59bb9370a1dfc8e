from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dealers import selectors, services
from dealers.excel import CONTACT_COLUMNS, DEALER_COLUMNS, DealerImportSpec, dealer_workbook
from dealers.forms import (
    ChangeRequestFilterForm,
    ChangeRequestForm,
    ContactFormSet,
    DealerFilterForm,
    ImportForm,
    MultipleFileField,
    contact_changes_from,
    contact_formset_initial,
)
from ssa_ops.attachments import EXCEL_KINDS, attachments_for, upload_check
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import ApplicationError
from ssa_ops.excel_import import import_template_build
from ssa_ops.jobs import job_start
from ssa_ops.roles import Role
from ssa_ops.validation import query_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@permission_required("dealers.view_dealer", raise_exception=True)
def dealer_index(request):
    if request.user.role == Role.DEALER:
        if not request.user.dealer_id:
            raise Http404
        return redirect("dealers:detail", pk=request.user.dealer_id)
    form = DealerFilterForm(request.GET or None, regions=selectors.regions_for(user=request.user))
    dealers = selectors.dealer_search(user=request.user, **form.filters())
    dealers, sort = selectors.DEALER_SORTING.apply(dealers, request.GET.get("sort", ""))
    page = Paginator(dealers, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "dealers/dealer_list.html",
        {"form": form, "page": page, "sort": sort, "export_params": form.export_params()},
    )


@permission_required("dealers.view_dealer", raise_exception=True)
def dealer_detail(request, pk):
    dealer = selectors.dealer_get(user=request.user, pk=pk)
    return render(
        request,
        "dealers/dealer_detail.html",
        {
            "dealer": dealer,
            "contacts": dealer.contacts.all(),
            "change_requests": selectors.change_request_list(user=request.user).filter(
                dealer=dealer
            )[:20],
            "events": audit_events_for(dealer)[:100],
            "can_file": request.user.has_perm("dealers.add_dealerchangerequest")
            and dealer.accepts_changes,
        },
    )


@permission_required("dealers.view_dealer", raise_exception=True)
def dealer_export_one(request, pk):
    dealer = selectors.dealer_get(user=request.user, pk=pk)
    return _xlsx_response(dealer_workbook(dealer), f"dealer-{dealer.code}.xlsx")


@permission_required("dealers.view_all_dealers", raise_exception=True)
def contact_index(request):
    query = query_text(request, "q")
    contacts, sort = selectors.CONTACT_SORTING.apply(
        selectors.contact_list(user=request.user, query=query), request.GET.get("sort", "")
    )
    page = Paginator(contacts, 50).get_page(request.GET.get("page"))
    return render(request, "dealers/contact_list.html", {"page": page, "q": query, "sort": sort})


@require_POST
@permission_required("dealers.export_dealers", raise_exception=True)
def dealer_export(request):
    """Export what the list shows: the list's filters and sort travel with the button."""
    form = DealerFilterForm(request.POST, regions=selectors.regions_for(user=request.user))
    job = job_start(kind="dealer_export", actor=request.user, params=form.export_params())
    return redirect("job-detail", job_id=job.pk)


@permission_required("dealers.import_dealers", raise_exception=True)
def dealer_import(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            upload_check(upload=upload, allowed_kinds=EXCEL_KINDS)
        except ApplicationError as error:
            form.add_error("file", error.message)
        else:
            job = job_start(
                kind="dealer_import",
                actor=request.user,
                input_bytes=upload.read(),
                input_name=upload.name,
            )
            return redirect("job-detail", job_id=job.pk)
    return render(
        request,
        "dealers/dealer_import.html",
        {
            "form": form,
            "dealer_columns": DEALER_COLUMNS,
            "contact_columns": CONTACT_COLUMNS,
        },
    )


@permission_required("dealers.import_dealers", raise_exception=True)
def dealer_import_template(request):
    return _xlsx_response(import_template_build(DealerImportSpec), "dealer-import-template.xlsx")


@permission_required("dealers.add_dealerchangerequest", raise_exception=True)
def change_request_new(request, pk):
    dealer = selectors.dealer_get(user=request.user, pk=pk)
    form = ChangeRequestForm(
        request.POST or None, request.FILES or None, initial=ChangeRequestForm.initial_for(dealer)
    )
    formset = ContactFormSet(
        request.POST or None, initial=contact_formset_initial(dealer), prefix="contacts"
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        contact_changes, form_index = contact_changes_from(formset)
        try:
            change_request = services.change_request_create(
                actor=request.user,
                dealer=dealer,
                values=form.dealer_values(),
                contact_changes=contact_changes,
                note=form.cleaned_data["note"],
                documents=form.cleaned_data["documents"],
            )
        except ValidationError as error:
            _errors_to_forms(error, form, formset, form_index)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            if "submit" in request.POST:
                try:
                    services.change_request_submit(actor=request.user, pk=change_request.pk)
                    messages.success(
                        request,
                        _("Change request %(n)s submitted to ops.") % {"n": change_request.number},
                    )
                except ApplicationError as error:
                    messages.error(request, error.message)
            else:
                messages.success(
                    request,
                    _("Change request %(n)s saved as a draft.") % {"n": change_request.number},
                )
            return redirect("dealers:change-detail", pk=change_request.pk)
    return render(
        request,
        "dealers/change_request_form.html",
        {"dealer": dealer, "form": form, "formset": formset},
    )


def _errors_to_forms(error, form, formset, form_index):
    for key, messages_ in error.message_dict.items():
        parts = key.split(".")
        if parts[0] == "contacts" and len(parts) >= 2:
            target = formset.forms[form_index[int(parts[1])]]
            field = parts[2] if len(parts) > 2 and parts[2] in target.fields else None
            for message in messages_:
                target.add_error(field, message)
        elif key in form.fields:
            for message in messages_:
                form.add_error(key, message)
        else:
            for message in messages_:
                form.add_error(None, message)


def _change_request_page(request, *, title, queue):
    form = ChangeRequestFilterForm(
        request.GET or None, regions=selectors.regions_for(user=request.user), queue=queue
    )
    requests = selectors.change_request_search(user=request.user, queue=queue, **form.filters())
    sorting = selectors.CHANGE_QUEUE_SORTING if queue else selectors.CHANGE_REQUEST_SORTING
    requests, sort = sorting.apply(requests, request.GET.get("sort", ""))
    page = Paginator(requests, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "dealers/change_request_list.html",
        {"page": page, "form": form, "title": title, "queue": queue, "sort": sort},
    )


@permission_required("dealers.view_dealerchangerequest", raise_exception=True)
def change_request_index(request):
    return _change_request_page(request, title=_("Change requests"), queue=False)


@permission_required("dealers.decide_dealerchangerequest", raise_exception=True)
def change_queue(request):
    return _change_request_page(request, title=_("Change queue"), queue=True)


@permission_required("dealers.view_dealerchangerequest", raise_exception=True)
def change_request_detail(request, pk):
    change_request = selectors.change_request_get(user=request.user, pk=pk)
    return render(
        request,
        "dealers/change_request_detail.html",
        {
            "cr": change_request,
            "rows": change_request.proposed_rows,
            "attachments": attachments_for(change_request),
            "events": audit_events_for(change_request),
            "can_upload": request.user.has_perm("dealers.change_dealerchangerequest")
            and change_request.accepts_documents,
            "upload_field": MultipleFileField(required=False).widget.render("documents", None),
        },
    )


@require_POST
@permission_required("dealers.change_dealerchangerequest", raise_exception=True)
def change_request_documents(request, pk):
    change_request = selectors.change_request_get(user=request.user, pk=pk)
    try:
        services.change_request_add_documents(
            actor=request.user, pk=change_request.pk, documents=request.FILES.getlist("documents")
        )
        messages.success(request, _("Documents added."))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("dealers:change-detail", pk=change_request.pk)
