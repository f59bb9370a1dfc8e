import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from dealers import selectors as dealer_selectors
from ssa_ops.attachments import attachment_get_for_user
from ssa_ops.errors import ApplicationError
from ssa_ops.forms import OutboxPasswordResetForm
from ssa_ops.jobs import job_get, job_list
from ssa_ops.models import OutboundEmail
from ssa_ops.notifications import outbound_email_resend
from ssa_ops.roles import Role
from ssa_ops.selectors import outbound_email_list

logger = logging.getLogger(__name__)


def home(request):
    """The dashboard for the user's role."""
    user = request.user
    context = {"role": user.role}
    if user.has_perm("dealers.view_dealer"):
        by_region = dealer_selectors.dealer_counts_by_region(user=user)
        peak = max((row["total"] for row in by_region), default=0) or 1
        for row in by_region:
            row["width"] = round(row["total"] * 100 / peak)
        context["by_region"] = by_region
        context["dealer_total"] = sum(row["total"] for row in by_region)
        context["dealer_active"] = sum(row["active"] for row in by_region)
        context["dealer_suspended"] = sum(row["suspended"] for row in by_region)
    if user.role == Role.DEALER and user.dealer_id:
        context["dealer"] = user.dealer
    if user.has_perm("dealers.view_dealerchangerequest"):
        if user.role != Role.DEALER:  # a dealer's own requests are listed below instead
            queue = dealer_selectors.change_request_queue(user=user)
            context["queue"], context["queue_count"] = queue[:8], queue.count()
        context["my_requests"] = dealer_selectors.change_request_list(user=user).filter(
            created_by=user
        )[:5]
    if user.has_perm("ssa_ops.view_outboundemail"):
        context["emails_failed"] = OutboundEmail.objects.filter(
            status=OutboundEmail.Status.FAILED
        ).count()
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
    return render(
        request, "ssa_ops/job_detail.html", {"job": job_get(user=request.user, job_id=job_id)}
    )


def job_download(request, job_id):
    job = job_get(user=request.user, job_id=job_id)
    if not job.result_file:
        messages.error(request, _("This job has no file to download."))
        return redirect("job-detail", job_id=job.pk)
    return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=job.result_name)


def attachment_download(request, attachment_id):
    attachment = attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=request.GET.get("inline") != "1",
        filename=attachment.original_name,
        content_type=attachment.mime_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return response


@permission_required("ssa_ops.view_outboundemail", raise_exception=True)
def outbox(request):
    status = request.GET.get("status", "")
    page = Paginator(outbound_email_list(status=status), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "ssa_ops/outbox.html",
        {"page": page, "status": status, "statuses": OutboundEmail.Status.choices},
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
    form_class = OutboxPasswordResetForm
    success_url = reverse_lazy("password_reset_done")


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
