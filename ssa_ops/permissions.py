"""API permission classes. The default is DenyAll: every endpoint names what it needs."""

from rest_framework.permissions import BasePermission


class DenyAll(BasePermission):
    def has_permission(self, request, view):
        return False


def requires(*permissions: str) -> type[BasePermission]:
    """A permission class: the caller is signed in and holds every named permission."""

    class HasPermissions(BasePermission):
        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.has_perms(permissions))

    HasPermissions.__name__ = "Requires_" + "_".join(p.replace(".", "_") for p in permissions)
    return HasPermissions
