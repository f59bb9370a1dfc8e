"""Accounts and roles: the writes and reads about who may do what."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from ssa_ops.models import User
from ssa_ops.roles import ROLE_PERMISSIONS, Role


@transaction.atomic
def role_groups_sync() -> None:
    """Create one group per role and give it exactly the role's permissions."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = set(ROLE_PERMISSIONS.get(role, []))
        permissions = []
        for label in wanted:
            app_label, codename = label.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)


@transaction.atomic
def user_create(
    *,
    username,
    password,
    role,
    email="",
    first_name="",
    last_name="",
    dealer=None,
    vendor=None,
    regions=(),
    language="zh-hans",
) -> User:
    role = Role(role)
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        dealer=dealer if role == Role.DEALER else None,
        vendor=vendor if role == Role.VENDOR else None,
        language=language,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.set([Group.objects.get(name=role.value)])
    if role == Role.REGION_MANAGER:
        user.regions.set(regions)
    return user


def users_with_permission(permission: str):
    """Active users holding a permission through their role group (for notifications)."""
    app_label, codename = permission.split(".", 1)
    return User.objects.filter(
        is_active=True,
        groups__permissions__content_type__app_label=app_label,
        groups__permissions__codename=codename,
    ).distinct()
