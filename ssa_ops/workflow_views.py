"""The HTML side of a registered workflow: one POST action per transition, and the buttons."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from ssa_ops.errors import ApplicationError
from ssa_ops.workflow import outcome, workflow_for


@require_POST
def workflow_act(request, pk, transition, model):
    """Run one transition from a detail page's button and say what happened."""
    workflow = workflow_for(model)
    instance = workflow.get_for_user(user=request.user, pk=pk)
    try:
        result = workflow.run(
            name=transition,
            user=request.user,
            pk=instance.pk,
            reason=request.POST.get("reason", ""),
            reasons=request.POST.getlist("reasons"),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        result.refresh_from_db()
        ok, message = (workflow.outcome or outcome)(result)
        messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, message)
        if (
            request.POST.get("then") == "next"
            and workflow.next_url_name
            and transition in workflow.next_after
        ):
            return redirect(workflow.next_url_name)
    return redirect(workflow.detail_url_name, pk=instance.pk)


def workflow_html_urls(model, *, prefix="") -> list:
    """`<pk>/act/<transition>/`, named `<slug>-act`, for the buttons of `{% workflow_actions %}`."""
    workflow = workflow_for(model)
    return [
        path(
            f"{prefix}<int:pk>/act/<str:transition>/",
            workflow_act,
            {"model": model},
            name=f"{workflow.slug}-act",
        )
    ]
