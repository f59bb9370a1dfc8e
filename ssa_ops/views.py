import io
import logging

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from ssa_ops.accounts import password_reset_request, user_password_set
from ssa_ops.attachments import (
    attachment_file_response,
    attachment_get_for_user,
    attachment_rendition_response,
)
from ssa_ops.dashboard import dashboard_panels
from ssa_ops.errors import ApplicationError
from ssa_ops.forms import OutboxPasswordResetForm
from ssa_ops.jobs import (
    job_error_rows,
    job_get,
    job_list,
    job_result_content,
    job_summary_rows,
)
from ssa_ops.models import OutboundEmail
from ssa_ops.notifications import outbound_email_resend
from ssa_ops.roles import Role
from ssa_ops.selectors import OUTBOX_SORTING, email_template_choices, outbound_email_list
from ssa_ops.validation import query_text

logger = logging.getLogger(__name__)


def home(request):
    """The dashboard for the user's role: the panels apps registered, then the user's jobs."""
    user = request.user
    context = {"role": user.role, "panels": dashboard_panels(user)}
    if user.has_perm("ssa_ops.view_outboundemail"):
        context["emails_failed"] = outbound_email_list(status=OutboundEmail.Status.FAILED).count()
    if user.role == Role.VENDOR:
        context["vendor"] = user.vendor
    context["jobs"] = job_list(user=user)[:5]
    return render(request, "ssa_ops/home.html", context)


@login_not_required
@never_cache
def healthz(request):
    """Liveness for load balancers and compose: 200 while the database answers."""
    state = {"database": "ok", "broker": "ok"}
    code = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # report, don't raise: this endpoint is for monitors
        logger.warning("healthz: database down: %s", error)
        state["database"] = "down"
        code = 503
    if settings.CELERY_TASK_ALWAYS_EAGER:
        state["broker"] = "eager"
    else:
        from ssa_ops.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as error:
            logger.warning("healthz: broker down: %s", error)
            state["broker"] = "down"
    state["status"] = "ok" if code == 200 else "down"
    return JsonResponse(state, status=code)


def job_index(request):
    page = Paginator(job_list(user=request.user), 25).get_page(request.GET.get("page"))
    return render(request, "ssa_ops/job_list.html", {"page": page})


def job_detail(request, job_id):
    job = job_get(user=request.user, job_id=job_id)
    return render(
        request,
        "ssa_ops/job_detail.html",
        {"job": job, "summary_rows": job_summary_rows(job), "error_rows": job_error_rows(job)},
    )


def job_download(request, job_id):
    job = job_get(user=request.user, job_id=job_id)
    if not job.result_file:
        messages.error(request, _("This job has no file to download."))
        return redirect("job-detail", job_id=job.pk)
    return FileResponse(
        io.BytesIO(job_result_content(job)), as_attachment=True, filename=job.result_name
    )


def attachment_download(request, attachment_id):
    """The original file, named and typed by what it is (a PDF named licence.html downloads
    as licence.pdf); PDF, JPEG and PNG open in the browser with ?inline=1."""
    attachment = attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    return attachment_file_response(attachment, inline=request.GET.get("inline") == "1")


def attachment_rendition(request, attachment_id, page):
    """A page of an attachment's browser-viewable copy (HEIC, TIFF, OFD), to whoever may see
    the original."""
    attachment = attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    return attachment_rendition_response(attachment, page=page)


@permission_required("ssa_ops.view_outboundemail", raise_exception=True)
def outbox(request):
    filters = {
        "status": query_text(request, "status"),
        "template": query_text(request, "template"),
        "query": query_text(request, "q"),
    }
    emails, sort = OUTBOX_SORTING.apply(outbound_email_list(**filters), request.GET.get("sort", ""))
    page = Paginator(emails, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "ssa_ops/outbox.html",
        {
            "page": page,
            **filters,
            "sort": sort,
            "statuses": OutboundEmail.Status.choices,
            "templates": email_template_choices(),
        },
    )


@require_POST
@permission_required("ssa_ops.resend_outboundemail", raise_exception=True)
def outbox_resend(request, email_id):
    try:
        outbound_email_resend(email_id=email_id, actor=request.user)
        messages.success(request, _("The email was queued again."))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("outbox")


@login_not_required
@require_POST
def language_switch(request):
    """Switch the interface language; a signed-in user keeps it for emails and jobs too."""
    response = set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Always the same answer, in the same time: the link (if any) is sent by a task."""

    form_class = OutboxPasswordResetForm
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        password_reset_request(
            email=form.cleaned_data["email"],
            client_address=get_client_ip_address(self.request),
            domain=self.request.get_host(),
            use_https=self.request.is_secure(),
        )
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """A reset password ends the user's API token and every other session."""

    def form_valid(self, form):
        user_password_set(
            user=form.user,
            password=form.cleaned_data["new_password1"],
            keep_session_key=self.request.session.session_key,
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordChangeView(auth_views.PasswordChangeView):
    """A changed password ends the user's API token and other sessions; this one stays."""

    def form_valid(self, form):
        user_password_set(
            user=form.user,
            password=form.cleaned_data["new_password1"],
            keep_session_key=self.request.session.session_key,
        )
        update_session_auth_hash(self.request, form.user)
        return HttpResponseRedirect(self.get_success_url())


def lockout_response(request, original_response=None, credentials=None, *args, **kwargs):
    """What a locked-out sign-in gets: JSON on the API, a page in the browser (HTTP 429)."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"code": "locked_out", "detail": _("Too many failed sign-ins; try again later.")},
            status=429,
        )
    return render(
        request,
        "registration/locked_out.html",
        {"minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)},
        status=429,
    )


@require_POST
def saved_view_save(request):
    """Save the list's current filters under a name; back to the list, showing that view."""
    from django.urls import NoReverseMatch

    from ssa_ops.saved_views import saved_view_save as save

    list_name = request.POST.get("list_name", "")[:60]
    try:
        list_url = reverse(list_name)
    except NoReverseMatch:
        raise Http404 from None
    try:
        view = save(
            user=request.user,
            list_name=list_name,
            name=request.POST.get("name", ""),
            query=request.POST.get("query", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(list_url)
    messages.success(request, _("View %(name)s saved.") % {"name": view.name})
    return redirect(f"{list_url}?{view.query}")


@require_POST
def saved_view_delete(request, pk):
    from ssa_ops.models import SavedView
    from ssa_ops.saved_views import saved_view_delete as delete

    view = SavedView.objects.filter(user=request.user, pk=pk).first()
    if view is None:
        raise Http404
    delete(user=request.user, pk=pk)
    from django.urls import NoReverseMatch

    try:
        return redirect(reverse(view.list_name))
    except NoReverseMatch:  # a list that no longer exists
        return redirect("home")
