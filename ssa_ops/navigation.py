"""The navigation a user sees, decided by its role's permissions."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ssa_ops.roles import Role

# (label, url name, permission needed or None, roles that see it or None for all)
_ITEMS = [
    (_("Home"), "home", None, None),
    (_("Dealers"), "dealers:list", "dealers.view_dealer", None),
    (_("Contacts"), "dealers:contacts", "dealers.view_all_dealers", None),
    (_("Change queue"), "dealers:change-queue", "dealers.decide_dealerchangerequest", None),
    (_("Change requests"), "dealers:change-list", "dealers.view_dealerchangerequest", None),
    (_("Imports & exports"), "jobs", "dealers.export_dealers", None),
    (_("Jobs"), "jobs", "ssa_ops.view_all_jobs", None),
    (_("Outbox"), "outbox", "ssa_ops.view_outboundemail", None),
    (_("API"), "swagger-ui", None, [r for r in Role if r not in (Role.DEALER, Role.VENDOR)]),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items, seen = [], set()
    for label, url_name, permission, roles in _ITEMS:
        if url_name in seen:
            continue
        if permission and not user.has_perm(permission):
            continue
        if roles is not None and user.role not in roles:
            continue
        if user.role == Role.DEALER and url_name == "dealers:list":
            label = _("My dealer")
        url = reverse(url_name)
        seen.add(url_name)
        items.append({"label": label, "url": url, "active": False})
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
