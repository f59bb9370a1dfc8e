"""Password reset and sign-in under repetition: same answer, limits, no enumeration."""

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from ssa_ops.models import OutboundEmail
from ssa_ops.roles import Role

pytestmark = pytest.mark.django_db

RESET_URL = "/accounts/password/reset/"
TARGET = "target@dealer.example.com"


def ask_for_reset(client, email, capture, *, address="192.0.2.10"):
    """POST the reset form; return the response, the queries it ran and its commit callbacks."""
    with capture(execute=False) as callbacks, CaptureQueriesContext(connection) as queries:
        response = client.post(RESET_URL, {"email": email}, REMOTE_ADDR=address)
    return response, [query["sql"] for query in queries.captured_queries], callbacks


def test_reset_answers_alike_for_known_and_unknown_addresses(
    make_user, django_capture_on_commit_callbacks
):
    # given one address with an account and one without
    make_user(Role.DEALER, email="known@dealer.example.com")
    client = Client()
    # when both ask for a reset
    known = ask_for_reset(client, "known@dealer.example.com", django_capture_on_commit_callbacks)
    unknown = ask_for_reset(client, "nobody@example.com", django_capture_on_commit_callbacks)
    # then the answers are the same and the request did the same work: no user looked up, no
    # email rendered or recorded, one task queued for after the commit
    for response, queries, callbacks in (known, unknown):
        assert response.status_code == 302
        assert response["Location"] == "/accounts/password/reset/done/"
        assert not any("ssa_ops_user" in sql for sql in queries), queries
        assert len(callbacks) == 1
    assert len(known[1]) == len(unknown[1])
    assert OutboundEmail.objects.count() == 0 and mail.outbox == []
    # and the task sends the link only to the address with an account
    with django_capture_on_commit_callbacks(execute=True):
        for _response, _queries, callbacks in (known, unknown):
            callbacks[0]()
    assert [email.to for email in OutboundEmail.objects.all()] == [["known@dealer.example.com"]]
    assert [message.to for message in mail.outbox] == [["known@dealer.example.com"]]


def test_reset_stops_sending_past_the_limit_per_address_with_the_same_answer(
    make_user, settings, django_capture_on_commit_callbacks
):
    # given a limit of 2 links per address per window
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 2
    make_user(Role.DEALER, email=TARGET)
    # when the same address is asked for 4 times from different clients
    answers = []
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(4):
            response = Client().post(
                RESET_URL,
                {
                    "email": "Target@Dealer.example.com"
                    if number % 2
                    else "target@dealer.example.com"
                },
                REMOTE_ADDR=f"192.0.2.{number + 1}",
            )
            answers.append((response.status_code, response["Location"]))
    # then every answer is the same page, and only 2 emails were sent
    assert answers == [(302, "/accounts/password/reset/done/")] * 4
    assert OutboundEmail.objects.filter(template="password_reset").count() == 2
    assert len(mail.outbox) == 2


def test_reset_stops_sending_past_the_limit_per_client_with_the_same_answer(
    make_user, settings, django_capture_on_commit_callbacks
):
    # given a limit of 3 requests per client per window, and 4 addresses with accounts
    settings.PASSWORD_RESET_LIMIT_PER_CLIENT = 3
    emails = [f"person{number}@dealer.example.com" for number in range(4)]
    for email in emails:
        make_user(Role.DEALER, email=email)
    client = Client()
    # when one client asks for all 4
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            client.post(RESET_URL, {"email": email}, REMOTE_ADDR="198.51.100.7")["Location"]
            for email in emails
        ]
    # then the answers are alike and the fourth sent nothing
    assert answers == ["/accounts/password/reset/done/"] * 4
    assert sorted(message.to[0] for message in mail.outbox) == emails[:3]
    # while another client is not held back
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(RESET_URL, {"email": emails[3]}, REMOTE_ADDR="198.51.100.8")
    assert sorted(message.to[0] for message in mail.outbox) == emails


def test_reset_limits_count_unknown_addresses_too(settings, django_capture_on_commit_callbacks):
    # given a limit of 1 per client
    settings.PASSWORD_RESET_LIMIT_PER_CLIENT = 1
    client = Client()
    # when a client probes two unknown addresses
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = client.post(RESET_URL, {"email": "a@example.com"}, REMOTE_ADDR="203.0.113.5")
        second = client.post(RESET_URL, {"email": "b@example.com"}, REMOTE_ADDR="203.0.113.5")
    # then the answers are the same; the second queued nothing
    assert first["Location"] == second["Location"] == "/accounts/password/reset/done/"
    assert len(callbacks) == 1


def test_sign_in_failures_across_usernames_lock_the_address(make_user, settings):
    # given an address limit of 4 failures whatever the username, 5 per username
    settings.AXES_ADDRESS_FAILURE_LIMIT = 4
    victim = make_user(Role.OPS)
    client = Client(REMOTE_ADDR="192.0.2.50")
    # when one address tries 4 different usernames once each
    for number in range(4):
        response = client.post(
            "/accounts/login/", {"username": f"guess{number}", "password": "wrong"}
        )
    # then the address is locked: even a right password for another user is refused
    assert response.status_code == 429
    response = client.post(
        "/accounts/login/",
        {"username": victim.username, "password": "demo"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # and the API token endpoint from that address is refused the same way
    api = Client(REMOTE_ADDR="192.0.2.50").post(
        "/api/v1/auth/token/",
        {"username": victim.username, "password": "demo"},
        content_type="application/json",
    )
    assert api.status_code == 429 and api.json()["code"] == "locked_out"
    # while another address signs in normally
    other = Client(REMOTE_ADDR="192.0.2.51")
    response = other.post("/accounts/login/", {"username": victim.username, "password": "demo"})
    assert response.status_code == 302
    assert other.session["_auth_user_id"] == str(victim.pk)


def test_a_successful_sign_in_does_not_clear_the_address_failures(make_user, settings):
    # given an address limit of 3 and an attacker with an account of its own
    settings.AXES_ADDRESS_FAILURE_LIMIT = 3
    attacker = make_user(Role.DEALER)
    client = Client(REMOTE_ADDR="192.0.2.60")
    # when it guesses two other usernames, signs in as itself, then guesses once more
    for username in ("guess-a", "guess-b"):
        client.post("/accounts/login/", {"username": username, "password": "wrong"})
    client.post("/accounts/login/", {"username": attacker.username, "password": "demo"})
    client.post("/accounts/logout/")
    response = client.post("/accounts/login/", {"username": "guess-c", "password": "wrong"})
    # then the third failure still locks the address
    assert response.status_code == 429
    assert AccessAttempt.objects.filter(ip_address="192.0.2.60").count() == 3


def test_below_the_address_limit_the_per_username_limit_still_applies(make_user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_ADDRESS_FAILURE_LIMIT = 30
    user = make_user(Role.OPS)
    client = Client(REMOTE_ADDR="192.0.2.70")
    for _ in range(2):
        client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    response = client.post("/accounts/login/", {"username": user.username, "password": "demo"})
    assert response.status_code == 429
    # another username from the same address is not locked yet
    other = make_user(Role.OPS)
    response = client.post("/accounts/login/", {"username": other.username, "password": "demo"})
    assert response.status_code == 302
