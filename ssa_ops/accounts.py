"""Accounts and roles: the writes and reads about who may do what."""

import hashlib
import logging

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from rest_framework.authtoken.models import Token

from ssa_ops.models import User
from ssa_ops.roles import ROLE_PERMISSIONS, Role

logger = logging.getLogger(__name__)


@transaction.atomic
def role_groups_sync() -> None:
    """Create one group per role and give it exactly the role's permissions."""
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        permissions = []
        for label in sorted(set(ROLE_PERMISSIONS.get(role, []))):
            app_label, _dot, codename = label.partition(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                # A misspelt permission would silently take a right away from a whole role.
                raise ImproperlyConfigured(
                    f"Role {role.value!r} names the permission {label!r}, which does not exist."
                )
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


# Signing in and out -------------------------------------------------------------------------


@transaction.atomic
def api_token_issue(*, user) -> Token:
    """A fresh API token for the user; the key handed out before stops working."""
    # The user's row is the lock: two token requests at once each end with one valid key.
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def user_credentials_revoke(*, user, keep_session_key=None) -> int:
    """End every way the user is signed in: its API token and its browser sessions, except
    the session `keep_session_key` (the one that just changed its own password). Returns the
    number of sessions ended."""
    Token.objects.filter(user=user).delete()
    user_pk = str(user.pk)
    ended = []
    # Sessions are stored signed, not indexed by user: read the live ones (a few per user).
    live = Session.objects.filter(expire_date__gt=timezone.now()).exclude(
        session_key=keep_session_key or ""
    )
    for session in live.iterator():
        if session.get_decoded().get(SESSION_KEY) == user_pk:
            ended.append(session.session_key)
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


@transaction.atomic
def user_password_set(*, user, password, keep_session_key=None) -> User:
    """Set a new password (changed by the user, reset by link, or set by an admin) and sign
    the user out everywhere else."""
    user.set_password(password)
    user.save(update_fields=["password"])
    user_credentials_revoke(user=user, keep_session_key=keep_session_key)
    return user


@transaction.atomic
def user_deactivate(*, user) -> User:
    """Take away a user's access: no sign-in, no API token, no open session."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    user_credentials_revoke(user=user)
    return user


def sign_in_address_failures(*, ip_address, since) -> int:
    """Failed sign-ins from one address, whatever the usernames tried (django-axes records)."""
    return (
        AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since).aggregate(
            total=Sum("failures_since_start")
        )["total"]
        or 0
    )


class SignInLockoutHandler(AxesDatabaseHandler):
    """django-axes' lock-out per username and address (AXES_FAILURE_LIMIT), plus one per
    address across usernames (AXES_ADDRESS_FAILURE_LIMIT), so that trying many usernames from
    one place is stopped too. A successful sign-in clears only its own username's failures."""

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        address_failures = sign_in_address_failures(
            ip_address=request.axes_ip_address, since=get_cool_off_threshold(request)
        )
        if address_failures >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            return max(failures, get_failure_limit(request, credentials))
        return failures


# Password reset -----------------------------------------------------------------------------


def _counted_within(key, *, limit, window_seconds) -> bool:
    """Count one more use of `key` in the current window; False once past `limit`."""
    cache.add(key, 0, timeout=window_seconds)
    try:
        used = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=window_seconds)
        used = 1
    return used <= limit


def password_reset_request(*, email, client_address, domain, use_https) -> bool:
    """Someone asked for a reset link for `email`. Whether an account has that address is
    not looked at here: the link is sent by a task, so the answer takes the same time and
    says the same either way. Over the limits per address or per client nothing is sent
    (PASSWORD_RESET_LIMIT_PER_ADDRESS, _PER_CLIENT per PASSWORD_RESET_LIMIT_WINDOW_MINUTES).
    Returns whether a link was queued."""
    window_seconds = settings.PASSWORD_RESET_LIMIT_WINDOW_MINUTES * 60
    address_key = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    client_key = hashlib.sha256((client_address or "").encode()).hexdigest()
    # Both counters move on every request, so a refused one costs the same as an accepted one.
    address_ok = _counted_within(
        f"password-reset:address:{address_key}",
        limit=settings.PASSWORD_RESET_LIMIT_PER_ADDRESS,
        window_seconds=window_seconds,
    )
    client_ok = _counted_within(
        f"password-reset:client:{client_key}",
        limit=settings.PASSWORD_RESET_LIMIT_PER_CLIENT,
        window_seconds=window_seconds,
    )
    if not (address_ok and client_ok):
        logger.warning(
            "Password reset refused: over the limit per %s",
            "address" if not address_ok else "client",
        )
        return False
    from ssa_ops.tasks import send_password_reset

    transaction.on_commit(
        lambda: send_password_reset.delay(email=email, domain=domain, use_https=use_https)
    )
    return True


def password_reset_email_send(*, email, domain, use_https) -> int:
    """Queue a one-use reset link to every active user with that address; returns how many."""
    from ssa_ops.forms import OutboxPasswordResetForm

    form = OutboxPasswordResetForm(data={"email": email})
    if not form.is_valid():
        return 0
    users = list(form.get_users(form.cleaned_data["email"]))
    form.save(domain_override=domain, use_https=use_https)
    return len(users)
