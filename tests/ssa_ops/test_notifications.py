import pytest
from django.core import mail

from ssa_ops.audit import audit_events_for
from ssa_ops.models import OutboundEmail
from ssa_ops.notifications import email_queue, outbound_email_resend, outbound_email_send
from ssa_ops.roles import Role
from ssa_ops.tasks import send_outbound_email

pytestmark = pytest.mark.django_db

CLOSED_SMTP = {
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "127.0.0.1",
    "EMAIL_PORT": 9,
    "EMAIL_TIMEOUT": 2,
}


def queue_status_email(cr_user, language="zh-hans"):
    from dealers import services

    change_request = services.change_request_create(
        actor=cr_user, dealer=cr_user.dealer, values={"address": "邮件测试1号"}
    )
    return email_queue(
        to=[cr_user.email],
        template="change_request_status",
        context={"change_request": change_request, "recipient": cr_user},
        language=language,
        related_object=change_request,
    )


def test_email_is_recorded_then_sent_on_commit_in_both_languages(
    make_user, django_capture_on_commit_callbacks
):
    user = make_user(Role.DEALER)
    with django_capture_on_commit_callbacks(execute=True):
        chinese = queue_status_email(user)
        english = queue_status_email(user, language="en")
    assert [m.subject for m in mail.outbox] == [chinese.subject, english.subject]
    assert "变更申请" in chinese.subject and "Change request" in english.subject
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.alternatives[0][1] == "text/html"
    assert "/dealers/changes/" in message.body
    chinese.refresh_from_db()
    assert (chinese.status, chinese.attempts) == ("sent", 1)
    assert chinese.sent_at is not None


def test_sending_twice_sends_once(make_user, django_capture_on_commit_callbacks):
    user = make_user(Role.DEALER)
    with django_capture_on_commit_callbacks(execute=True):
        email = queue_status_email(user)
    send_outbound_email.delay(email.pk)
    outbound_email_send(email_id=email.pk)
    assert len(mail.outbox) == 1


def test_a_failed_send_is_recorded_and_can_be_resent(make_user, settings):
    user = make_user(Role.DEALER)
    email = queue_status_email(user)
    for key, value in CLOSED_SMTP.items():
        setattr(settings, key, value)
    email = outbound_email_send(email_id=email.pk)
    assert email.status == OutboundEmail.Status.FAILED
    assert email.attempts == 1
    assert email.last_error.startswith("ConnectionRefusedError: ")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ops = make_user(Role.OPS_LEAD)
    outbound_email_resend(email_id=email.pk, actor=ops)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.QUEUED
    outbound_email_send(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT
    assert len(mail.outbox) == 1
    history = [(e.action, e.actor_name) for e in audit_events_for(email).order_by("pk")]
    assert history == [
        ("mark_failed", "system"),
        ("requeue", ops.username),
        ("mark_sent", "system"),
    ]


def test_failed_email_gives_up_after_max_attempts(make_user, settings):
    user = make_user(Role.DEALER)
    email = queue_status_email(user)
    for key, value in CLOSED_SMTP.items():
        setattr(settings, key, value)
    settings.EMAIL_MAX_ATTEMPTS = 2
    outbound_email_send(email_id=email.pk)
    outbound_email_send(email_id=email.pk)
    email = outbound_email_send(email_id=email.pk)
    assert (email.status, email.attempts) == ("failed", 2)


def test_outbox_page_shows_failures_and_only_leads_resend(client, make_user, settings):
    email = queue_status_email(make_user(Role.DEALER))
    for key, value in CLOSED_SMTP.items():
        setattr(settings, key, value)
    outbound_email_send(email_id=email.pk)
    client.force_login(make_user(Role.OPS))
    page = client.get("/outbox/?status=failed").content.decode()
    assert email.subject in page and "Resend" not in page and "重新发送" not in page
    assert str(email.related_object) in page  # the record the email is about
    assert client.post(f"/outbox/{email.pk}/resend/").status_code == 403
    client.force_login(make_user(Role.DEALER))
    assert client.get("/outbox/").status_code == 403


def test_outbox_page_reads_a_fixed_number_of_queries(
    client, make_user, django_assert_max_num_queries
):
    dealer_user = make_user(Role.DEALER)
    for _ in range(20):
        queue_status_email(dealer_user)
    client.force_login(make_user(Role.OPS))
    with django_assert_max_num_queries(12):
        page = client.get("/outbox/").content.decode()
    assert page.count("CR-") >= 20
