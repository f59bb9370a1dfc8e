"""Saved views of a list: each user's own, named filters of a list page, beside a few built in
per role. A view is the list's query string (filters and sort, not the page position)."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils.translation import gettext as _

from ssa_ops.models import SavedView
from ssa_ops.validation import model_text_clean

MAX_VIEWS_PER_LIST = 30


@dataclass(frozen=True)
class BuiltInView:
    label: object  # lazy text, read in the reader's language
    query: str
    roles: tuple = ()  # empty: everyone who sees the list
    permission: str = ""


_BUILT_IN: dict[str, list[BuiltInView]] = {}


def saved_views_builtin_register(list_name: str, views: list[BuiltInView]) -> None:
    """Apps add their lists' built-in views at ready()."""
    _BUILT_IN[list_name] = list(views)


def _query_clean(query: str) -> str:
    params = QueryDict(query[:1000], mutable=True)
    params.pop("after", None)
    params.pop("cursor", None)
    return params.urlencode()[:1000]


def saved_views_for(*, user, list_name: str) -> dict:
    """The built-in views the user's role gets, and the user's own, for one list."""
    built_in = [
        view
        for view in _BUILT_IN.get(list_name, [])
        if (not view.roles or user.role in view.roles)
        and (not view.permission or user.has_perm(view.permission))
    ]
    own = list(SavedView.objects.filter(user=user, list_name=list_name))
    return {"built_in": built_in, "own": own}


def saved_view_save(*, user, list_name: str, name, query: str) -> SavedView:
    """Save (or replace, under the same name) the user's view of a list."""
    name = model_text_clean(SavedView, "name", name, required=True)
    list_name = model_text_clean(SavedView, "list_name", list_name, required=True)
    with transaction.atomic():
        existing = SavedView.objects.select_for_update().filter(
            user=user, list_name=list_name, name=name
        )
        if existing.exists():
            existing.update(query=_query_clean(query))
            return existing.get()
        if SavedView.objects.filter(user=user, list_name=list_name).count() >= MAX_VIEWS_PER_LIST:
            raise ValidationError(
                {"name": _("At most %(n)s saved views per list.") % {"n": MAX_VIEWS_PER_LIST}}
            )
        try:
            return SavedView.objects.create(
                user=user, list_name=list_name, name=name, query=_query_clean(query)
            )
        except IntegrityError:  # saved at the same moment in another tab
            return SavedView.objects.get(user=user, list_name=list_name, name=name)


def saved_view_delete(*, user, pk: int) -> None:
    SavedView.objects.filter(user=user, pk=pk).delete()
