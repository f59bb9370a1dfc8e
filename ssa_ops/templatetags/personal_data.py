"""Personal values on pages: masked by default, a Show button for those who may see more.

{% load personal_data %}
{{ claim.id_number }}                        masked already (a PersonalValue)
{{ raw_phone|masked:"phone" }}               mask a plain string of a kind
{% personal_value claim "id_number" "claims" %}   masked value + Show (POST, recorded)
"""

from django import template
from django.urls import reverse

from ssa_ops.personal_data import mask, personal_data_may_see, personal_records_for

register = template.Library()


@register.filter
def masked(value, kind="text"):
    return mask(kind, value)


@register.inclusion_tag("ssa_ops/includes/personal_value.html", takes_context=True)
def personal_value(context, instance, field_name, url_namespace=""):
    """The masked value and, for users with `ssa_ops.view_personal_data`, a Show button posting
    to the URL `personal_data_html_urls` made for the record's kind."""
    request = context["request"]
    value = getattr(instance, field_name)
    kind = personal_records_for(type(instance)).kind
    url_name = f"{kind}-personal-data"
    can_show = bool(value) and personal_data_may_see(request.user)
    return {
        "masked": str(value) if value else "",
        "field_name": field_name,
        "can_show": can_show,
        "url": (
            reverse(
                f"{url_namespace}:{url_name}" if url_namespace else url_name,
                args=[instance.pk, field_name],
            )
            if can_show
            else ""
        ),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
