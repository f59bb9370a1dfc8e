"""The HTML side of personal information: the "show" action an app mounts for its records,
and the access log that ops leads and admins read and export.

    urlpatterns += personal_data_html_urls(Claim, prefix="claims/")   # in the app's urls
    {% load personal_data %}{% personal_value claim "id_number" "claims" %}   # on its page

The tag shows the masked value and, to users with `ssa_ops.view_personal_data`, a Show
button that POSTs here; the answer is a page with the value in full (never cached).
"""

import io
from datetime import datetime, time

from axes.helpers import get_client_ip_address
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ssa_ops.errors import PermissionRefused
from ssa_ops.excel_export import workbook_open
from ssa_ops.models import PersonalDataAccess
from ssa_ops.navigation import NavItem, navigation_register
from ssa_ops.personal_data import (
    SOURCE_HTML,
    SOURCE_LABELS,
    personal_data_show,
    personal_field_get,
    personal_records_for,
)
from ssa_ops.sorting import Sorting
from ssa_ops.validation import text_clean

navigation_register(
    NavItem(
        gettext_lazy("Personal data access"),
        "personal-data-access",
        "ssa_ops.view_personaldataaccess",
        order=920,
    )
)


@require_POST
def personal_data_show_view(request, pk, field, model):
    """Show one personal field of one record in full, to a user who may; recorded."""
    records = personal_records_for(model)
    instance = records.get_for_user(user=request.user, pk=pk)
    model_field = personal_field_get(model, field)
    try:
        value = personal_data_show(
            user=request.user,
            instance=instance,
            field_name=field,
            source=SOURCE_HTML,
            reason=_reason(request),
            client_address=get_client_ip_address(request),
        )
    except PermissionRefused as error:
        raise PermissionDenied(error.message) from error
    response = render(
        request,
        "ssa_ops/personal_data_show.html",
        {
            "record": instance,
            "field_label": model_field.verbose_name,
            "value": value,
            "back": request.POST.get("next", "") if _local(request.POST.get("next")) else "",
        },
    )
    response["Cache-Control"] = "no-store"
    return response


def _local(url) -> bool:
    return (
        bool(url)
        and url_has_allowed_host_and_scheme(url, allowed_hosts=None)
        and (url.startswith("/") and not url.startswith(("//", "/\\")))
    )


def _reason(request) -> str:
    """Why the value is looked at, as text a column can hold (or nothing)."""
    try:
        return text_clean(request.POST.get("reason", ""), max_length=200)
    except ValidationError:
        return ""


def personal_data_html_urls(model, *, prefix="") -> list:
    """`<prefix><pk>/personal-data/<field>/`, named `<kind>-personal-data`."""
    records = personal_records_for(model)
    return [
        path(
            f"{prefix}<int:pk>/personal-data/<str:field>/",
            personal_data_show_view,
            {"model": model},
            name=f"{records.kind}-personal-data",
        )
    ]


# The access log --------------------------------------------------------------------------------

ACCESS_SORTING = Sorting(
    {"time": ("created_at",), "user": ("user_name",), "field": ("field",), "from": ("source",)},
    default="-time",
)


def _day(value, *, end=False):
    day = parse_date(value or "") if value else None
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def personal_data_access_list(*, user_query="", since="", until=""):
    """Looks at personal information, newest first; `user_query` matches the login."""
    looks = PersonalDataAccess.objects.select_related("content_type")
    if user_query:
        looks = looks.filter(user_name__icontains=user_query)
    if _day(since):
        looks = looks.filter(created_at__gte=_day(since))
    if _day(until, end=True):
        looks = looks.filter(created_at__lte=_day(until, end=True))
    return looks


def _filters(request) -> dict:
    return {
        "user_query": request.GET.get("user", "").strip()[:150],
        "since": request.GET.get("since", "")[:10],
        "until": request.GET.get("until", "")[:10],
    }


@permission_required("ssa_ops.view_personaldataaccess", raise_exception=True)
def personal_data_access_index(request):
    filters = _filters(request)
    looks, sort = ACCESS_SORTING.apply(
        personal_data_access_list(**filters), request.GET.get("sort", "")
    )
    page = Paginator(looks, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "ssa_ops/personal_data_access_list.html",
        {"page": page, **filters, "sort": sort, "query": request.GET.urlencode()},
    )


@permission_required("ssa_ops.view_personaldataaccess", raise_exception=True)
def personal_data_access_export(request):
    """The filtered log as .xlsx, headers in the reader's language, codes in their own column."""
    filters = _filters(request)
    looks, _sort = ACCESS_SORTING.apply(
        personal_data_access_list(**filters), request.GET.get("sort", "")
    )
    output = io.BytesIO()
    workbook = workbook_open(output, constant_memory=True)
    sheet = workbook.add_worksheet(_("Access log")[:31])
    headers = [
        _("Time"),
        _("User"),
        _("Record"),
        _("Field"),
        _("Field code"),
        _("Where from"),
        _("Where from code"),
        _("Reason"),
        _("Address"),
    ]
    sheet.write_row(0, 0, headers)
    for row, look in enumerate(looks.iterator(chunk_size=2000), start=1):
        sheet.write_row(
            row,
            0,
            [
                timezone.localtime(look.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                look.user_name,
                look.record_label,
                look.field_label,
                look.field,
                str(SOURCE_LABELS.get(look.source, look.source)),
                look.source,
                look.reason,
                look.client_address or "",
            ],
        )
    workbook.close()
    response = HttpResponse(
        output.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="personal-data-access-{stamp}.xlsx"'
    return response


urlpatterns = [
    path("access/", personal_data_access_index, name="personal-data-access"),
    path("access/export/", personal_data_access_export, name="personal-data-access-export"),
]
