from django import template
from django.urls import reverse

from ssa_ops.reasons import reason_choices, reason_kind
from ssa_ops.workflow import REASON_CODED, REASON_LABELS, REASON_NONE, actions_for, workflow_for

register = template.Library()


@register.inclusion_tag("includes/workflow_actions.html", takes_context=True)
def workflow_actions(context, instance, url_namespace=""):
    """The buttons of the transitions the user may press now, straight from the model's
    declarations (django-fsm's available user transitions)."""
    workflow = workflow_for(type(instance))
    url_name = f"{url_namespace}:{workflow.slug}-act" if url_namespace else f"{workflow.slug}-act"
    actions = []
    for item in actions_for(instance, context["request"].user):
        actions.append(
            {
                **item,
                "url": reverse(url_name, args=[instance.pk, item["name"]]),
                "needs_reason": item.get("reason", REASON_NONE) != REASON_NONE,
                "reason_label": REASON_LABELS.get(item.get("reason")),
                "reason_required": item.get("reason") == "required",
                "reason_coded": item.get("reason") == REASON_CODED,
            }
        )
    if any(action["reason_coded"] for action in actions):
        choices = reason_choices(reason_kind(type(instance)))
        for action in actions:
            action["reason_choices"] = choices if action["reason_coded"] else []
    return {"actions": actions, "instance": instance, "csrf_token": context.get("csrf_token")}
