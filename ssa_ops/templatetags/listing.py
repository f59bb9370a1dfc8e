from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, key, label):
    """A column header that sorts the list by `key` (again: the other way), keeping filters."""
    request = context["request"]
    current = context.get("sort", "")
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("cursor", None)
    descending = current == key
    params["sort"] = f"-{key}" if descending else key
    arrow = "▲" if current == key else "▼" if current == f"-{key}" else ""
    return format_html(
        '<a class="sort{}" href="?{}" data-sort="{}">{}{}</a>',
        " active" if arrow else "",
        params.urlencode(),
        key,
        label,
        f" {arrow}" if arrow else "",
    )


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters changed (e.g. the page)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params[key] = value
    return params.urlencode()


@register.inclusion_tag("includes/saved_views.html", takes_context=True)
def saved_views(context, list_name):
    """The list's built-in and saved views as links, and a form that saves the current one."""
    from ssa_ops.saved_views import saved_views_for

    request = context["request"]
    params = request.GET.copy()
    params.pop("after", None)
    params.pop("cursor", None)
    current = params.urlencode()
    views = saved_views_for(user=request.user, list_name=list_name)
    return {
        "list_name": list_name,
        "current": current,
        "built_in": views["built_in"],
        "own": views["own"],
        "csrf_token": context.get("csrf_token"),
    }
