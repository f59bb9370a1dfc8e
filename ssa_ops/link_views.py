"""The pages a decision link opens, for people without an account (see links.py)."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ssa_ops.attachments import attachment_file_response
from ssa_ops.errors import ApplicationError
from ssa_ops.links import (
    LinkRefused,
    decision_link_decide,
    decision_link_documents,
    decision_link_handler,
    decision_link_open,
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
    return attachment_file_response(attachment, inline=request.GET.get("inline") == "1")
