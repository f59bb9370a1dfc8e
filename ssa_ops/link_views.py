"""The pages a decision link opens, for people without an account (see links.py)."""

import io

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ssa_ops.attachments import (
    BROWSER_KINDS,
    attachment_download_name,
    attachment_file_response,
    attachment_kind,
    attachment_read,
)
from ssa_ops.errors import ApplicationError
from ssa_ops.links import (
    LinkRefused,
    decision_link_decide,
    decision_link_documents,
    decision_link_handler,
    decision_link_open,
)
from ssa_ops.personal_data import (
    SOURCE_DOCUMENT,
    personal_data_access_record,
    personal_document_purpose,
)

_PROBLEM_STATUS = {"tampered": 404, "wrong_step": 409}


def _refused(request, error: LinkRefused):
    return render(
        request,
        "ssa_ops/decision_link_refused.html",
        {"problem": error.problem, "message": error.message},
        status=_PROBLEM_STATUS.get(error.problem, 410),
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def decision_link_page(request, token):
    """GET shows the record and its documents; only the form's POST decides."""
    try:
        link = decision_link_open(token)
    except LinkRefused as error:
        return _refused(request, error)
    error_message = ""
    if request.method == "POST":
        try:
            link = decision_link_decide(
                token=token,
                decision=request.POST.get("decision", ""),
                comment=request.POST.get("comment", ""),
            )
        except LinkRefused as error:
            return _refused(request, error)
        except ApplicationError as error:
            error_message = error.message
        else:
            return render(request, "ssa_ops/decision_link_done.html", {"link": link})
    handler = decision_link_handler(link.purpose)
    return render(
        request,
        "ssa_ops/decision_link.html",
        {
            "link": link,
            "token": token,
            "body": handler.page(link),
            "documents": decision_link_documents(link),
            "error_message": error_message,
            "comment": request.POST.get("comment", "") if request.method == "POST" else "",
        },
    )


@login_not_required
@never_cache
def decision_link_document(request, token, attachment_id):
    """A document of the record, while the link may still decide."""
    try:
        link = decision_link_open(token)
    except LinkRefused:
        raise Http404 from None
    attachment = next(
        (a for a in decision_link_documents(link) if str(a.pk) == str(attachment_id)), None
    )
    if attachment is None:
        raise Http404
    inline = request.GET.get("inline") == "1"
    if not personal_document_purpose(attachment.purpose):
        return attachment_file_response(attachment, inline=inline)
    # A personal document (an ID card scan) opens for the approver the link names, who has no
    # account: the look is recorded with the link.
    personal_data_access_record(
        user=None,
        obj=attachment.owner,
        field=f"document:{attachment.purpose}",
        source=SOURCE_DOCUMENT,
        reason=f"decision link {link.pk}: {link.approver_email}",
        client_address=request.META.get("REMOTE_ADDR"),
        attachment=attachment,
    )
    response = FileResponse(
        io.BytesIO(attachment_read(attachment)),
        as_attachment=not (inline and attachment_kind(attachment) in BROWSER_KINDS),
        filename=attachment_download_name(attachment),
        content_type=attachment.mime_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return response
