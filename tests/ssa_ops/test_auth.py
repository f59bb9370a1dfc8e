import re

import pytest
from django.core import mail

from ssa_ops.models import OutboundEmail
from ssa_ops.roles import Role

pytestmark = pytest.mark.django_db


def test_login_lands_on_the_role_dashboard(client, make_user):
    user = make_user(Role.OPS)
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": "demo"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert "经销商" in response.content.decode()


def test_navigation_follows_the_role(client, make_user):
    client.force_login(make_user(Role.DEALER, language="en"))
    page = client.get("/").content.decode()
    assert "My dealer" in page and "Outbox" not in page and "Change queue" not in page
    client.force_login(make_user(Role.OPS_LEAD, language="en"))
    page = client.get("/").content.decode()
    assert "Change queue" in page and "Outbox" in page and "My dealer" not in page


def test_logout_needs_a_post_and_ends_the_session(client, make_user):
    client.force_login(make_user(Role.OPS))
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_repeated_wrong_passwords_lock_the_account(client, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = make_user(Role.OPS)
    for _ in range(3):
        client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    response = client.post(
        "/accounts/login/",
        {"username": user.username, "password": "demo"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert client.get("/").status_code == 302  # still not signed in


def test_password_reset_goes_through_the_outbox_and_the_link_works_once(
    client, make_user, django_capture_on_commit_callbacks
):
    user = make_user(Role.DEALER, email="reset.me@dealer.example.com")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "reset.me@dealer.example.com"})
    assert OutboundEmail.objects.get().template == "password_reset"
    assert len(mail.outbox) == 1
    link = re.search(
        r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body
    ).group(1)
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(
        set_url,
        {"new_password1": "A-much-better-pass-2026", "new_password2": "A-much-better-pass-2026"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("A-much-better-pass-2026")
    # the same link a second time is refused
    again = client.get(link, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "already been used or has expired" in again.content.decode()


def test_password_reset_for_unknown_email_sends_nothing_and_says_the_same(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert OutboundEmail.objects.count() == 0 and len(mail.outbox) == 0


def test_password_change(client, make_user):
    user = make_user(Role.QC)
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": "demo",
            "new_password1": "Another-good-pass-77",
            "new_password2": "Another-good-pass-77",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Another-good-pass-77")
