"""Tokens and sessions end when the password changes, is reset or the user is deactivated."""

import re
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.forms import MultiWidget
from django.test import Client
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ssa_ops.roles import Role

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "A-much-better-pass-2026"


def token_for(user, password="demo"):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def status_with_token(key):
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/jobs/0/").status_code


def signed_in_client(user):
    client = Client()
    client.force_login(user)
    return client


def admin_change_data(page, **changes):
    """The admin change form's current values as POST data, with `changes` applied."""
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = changes.get(name, form[name].value())
        if isinstance(field.widget, MultiWidget):
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif value is True:
            data[name] = "on"
        elif value is not None and value is not False:
            data[name] = value
    return data


def sessions_of(user):
    return [
        session
        for session in Session.objects.all()
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    ]


def test_each_token_request_issues_a_new_key_and_the_old_one_stops_working(make_user):
    # given a token already handed out
    user = make_user(Role.OPS)
    first = token_for(user)
    assert status_with_token(first) == 404  # signed in; job 0 does not exist
    # when the token endpoint is asked again
    second = token_for(user)
    # then the key is new, the old one is refused and only one key exists
    assert second != first
    response = APIClient(HTTP_AUTHORIZATION=f"Token {first}").get("/api/v1/jobs/0/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert status_with_token(second) == 404
    assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [second]


def test_a_token_expires_after_its_time_to_live(make_user, settings):
    # given a token issued just longer ago than API_TOKEN_TTL_HOURS
    settings.API_TOKEN_TTL_HOURS = 2
    user = make_user(Role.OPS)
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": "demo"}, format="json"
    )
    key = response.json()["token"]
    token = Token.objects.get(key=key)
    assert parse_datetime(response.json()["expires_at"]) == token.created + timedelta(hours=2)
    Token.objects.filter(key=key).update(created=token.created - timedelta(hours=2, seconds=1))
    # when it is used, then it is refused with its own code
    response = APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/jobs/0/")
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    # and a fresh one works
    assert status_with_token(token_for(user)) == 404


def test_changing_the_password_revokes_the_token_and_other_sessions_but_keeps_this_one(
    make_user,
):
    # given a user with an API token and two browser sessions
    user = make_user(Role.QC)
    key = token_for(user)
    other_browser = signed_in_client(user)
    this_browser = signed_in_client(user)
    assert len(sessions_of(user)) == 2
    # when the user changes the password in one of them
    response = this_browser.post(
        "/accounts/password/change/",
        {"old_password": "demo", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    # then the password changed, the token and the other session are gone, this one stays
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not Token.objects.filter(user=user).exists()
    assert status_with_token(key) == 401
    assert other_browser.get("/").status_code == 302  # back to the sign-in page
    assert this_browser.get("/").status_code == 200
    assert len(sessions_of(user)) == 1


def test_a_refused_password_change_revokes_nothing(make_user):
    # given a user with a token and a session
    user = make_user(Role.QC)
    key = token_for(user)
    browser = signed_in_client(user)
    # when the change is refused (wrong old password)
    response = browser.post(
        "/accounts/password/change/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    # then nothing changed
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password("demo")
    assert status_with_token(key) == 404
    assert len(sessions_of(user)) == 1


def test_resetting_the_password_revokes_the_token_and_every_session(
    make_user, django_capture_on_commit_callbacks
):
    # given a user with an API token and a browser session elsewhere
    user = make_user(Role.DEALER, email="reset.me@dealer.example.com")
    key = token_for(user)
    other_browser = signed_in_client(user)
    # when the password is reset through the emailed link
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "reset.me@dealer.example.com"})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    form_page = client.get(link.group(1), follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    # then the token and the session are gone
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert status_with_token(key) == 401
    assert not Token.objects.filter(user=user).exists()
    assert other_browser.get("/").status_code == 302
    assert sessions_of(user) == []


def test_an_admin_deactivating_a_user_revokes_its_token_and_sessions(make_user):
    # given a user with a token and a session, and an admin
    user = make_user(Role.OPS)
    key = token_for(user)
    browser = signed_in_client(user)
    admin = signed_in_client(make_user(Role.ADMIN, is_staff=True, is_superuser=True))
    page = admin.get(f"/admin/ssa_ops/user/{user.pk}/change/")
    data = admin_change_data(page, is_active=False)
    # when the admin saves the user as inactive
    response = admin.post(f"/admin/ssa_ops/user/{user.pk}/change/", data)
    # then the user is inactive and signed out everywhere
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert not user.is_active
    assert status_with_token(key) == 401
    assert not Token.objects.filter(user=user).exists()
    assert sessions_of(user) == []
    assert browser.get("/").status_code == 302


def test_an_admin_saving_a_user_without_deactivating_keeps_its_token(make_user):
    user = make_user(Role.OPS)
    key = token_for(user)
    browser = signed_in_client(user)
    admin = signed_in_client(make_user(Role.ADMIN, is_staff=True, is_superuser=True))
    page = admin.get(f"/admin/ssa_ops/user/{user.pk}/change/")
    response = admin.post(
        f"/admin/ssa_ops/user/{user.pk}/change/", admin_change_data(page, first_name="Renamed")
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.first_name == "Renamed" and user.is_active
    assert status_with_token(key) == 404
    assert browser.get("/").status_code == 200


def test_the_admin_deactivate_action_revokes_tokens_and_sessions(make_user):
    # given two users with tokens and sessions
    first, second = make_user(Role.OPS), make_user(Role.DEALER)
    keys = [token_for(first), token_for(second)]
    browsers = [signed_in_client(first), signed_in_client(second)]
    admin_user = make_user(Role.ADMIN, is_staff=True, is_superuser=True)
    admin = signed_in_client(admin_user)
    # when the admin deactivates both, and itself among them, with the list action
    response = admin.post(
        "/admin/ssa_ops/user/",
        {
            "action": "deactivate_users",
            "_selected_action": [first.pk, second.pk, admin_user.pk],
        },
    )
    # then both are inactive and signed out; the admin itself was left alone
    assert response.status_code == 302
    for user, key, browser in zip([first, second], keys, browsers, strict=True):
        user.refresh_from_db()
        assert not user.is_active
        assert status_with_token(key) == 401
        assert sessions_of(user) == []
        assert browser.get("/").status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert admin.get("/").status_code == 200


def test_an_admin_setting_a_password_revokes_the_users_token_and_sessions(make_user):
    user = make_user(Role.OPS)
    key = token_for(user)
    browser = signed_in_client(user)
    admin = signed_in_client(make_user(Role.ADMIN, is_staff=True, is_superuser=True))
    response = admin.post(
        f"/admin/ssa_ops/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert status_with_token(key) == 401
    assert sessions_of(user) == []
    assert browser.get("/").status_code == 302
    assert admin.get("/admin/").status_code == 200


def test_an_inactive_users_credentials_are_refused_by_the_token_endpoint(make_user):
    user = make_user(Role.OPS, is_active=False)
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": "demo"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert not Token.objects.filter(user=user).exists()


def test_an_admin_setting_its_own_password_stays_signed_in_here_only(make_user):
    # given an admin signed in twice, with an API token
    admin_user = make_user(Role.ADMIN, is_staff=True, is_superuser=True)
    key = token_for(admin_user)
    elsewhere = signed_in_client(admin_user)
    here = signed_in_client(admin_user)
    # when it sets its own password in the admin
    response = here.post(
        f"/admin/ssa_ops/user/{admin_user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    # then this session carries on, the other one and the token are gone
    assert response.status_code == 302
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302
    assert status_with_token(key) == 401
    assert len(sessions_of(admin_user)) == 1
