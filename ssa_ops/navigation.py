"""The navigation a user sees: entries that apps register at ready(), shown by permission."""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ssa_ops.roles import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str | None = None
    roles: tuple[str, ...] | None = None  # None: every role
    order: int = 100
    # a different label for some roles, e.g. "My dealer" for a dealer's user
    label_for_role: dict = field(default_factory=dict)


_ITEMS: list[NavItem] = []


def navigation_register(*items: NavItem) -> None:
    for item in items:
        if item not in _ITEMS:
            _ITEMS.append(item)


navigation_register(
    NavItem(_("Home"), "home", order=0),
    NavItem(_("Reasons"), "reasons", "ssa_ops.manage_reason", order=890),
    NavItem(_("Jobs"), "jobs", "ssa_ops.view_all_jobs", order=900),
    NavItem(_("Outbox"), "outbox", "ssa_ops.view_outboundemail", order=910),
    NavItem(
        _("API"),
        "swagger-ui",
        roles=tuple(r for r in Role if r not in (Role.DEALER, Role.VENDOR)),
        order=990,
    ),
)


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items, seen = [], set()
    for item in sorted(_ITEMS, key=lambda item: item.order):
        if item.url_name in seen:
            continue
        if item.permission and not user.has_perm(item.permission):
            continue
        if item.roles is not None and user.role not in item.roles:
            continue
        seen.add(item.url_name)
        label = item.label_for_role.get(user.role, item.label)
        items.append({"label": label, "url": reverse(item.url_name), "active": False})
    # The item whose address is the longest prefix of this page is the one that is active.
    matches = [
        item
        for item in items
        if request.path == item["url"]
        or (item["url"] != "/" and request.path.startswith(item["url"]))
    ]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": items}
