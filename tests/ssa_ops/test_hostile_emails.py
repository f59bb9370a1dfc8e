"""Plain-text emails show text as typed; only the HTML part is escaped."""

import copy

import pytest
from django.core import mail

from ssa_ops.models import OutboundEmail
from ssa_ops.notifications import email_queue

pytestmark = pytest.mark.django_db

TYPED = "<Müller & Söhne> \"quoted\" 'single'"


@pytest.fixture
def probe_templates(settings, tmp_path):
    """An email template that prints one value in its subject, text and HTML parts."""
    folder = tmp_path / "emails"
    folder.mkdir()
    (folder / "probe.subject.txt").write_text("About {{ value }}")
    (folder / "probe.txt").write_text("Value: {{ value }}\n")
    (folder / "probe.html").write_text("<p>Value: {{ value }}</p>")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [tmp_path, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates


def test_text_part_and_subject_are_not_html_escaped(
    probe_templates, django_capture_on_commit_callbacks
):
    # when an email carries text with HTML-special characters
    with django_capture_on_commit_callbacks(execute=True):
        email_queue(to="someone@example.com", template="probe", context={"value": TYPED})
    # then subject and text part show it as typed, and only the HTML part escapes it
    stored = OutboundEmail.objects.get()
    assert stored.subject == f"About {TYPED}"
    assert stored.body_text == f"Value: {TYPED}\n"
    assert "&lt;Müller &amp; Söhne&gt;" in stored.body_html and "<Müller" not in stored.body_html
    sent = mail.outbox[0]
    assert sent.subject == f"About {TYPED}"
    assert sent.body == f"Value: {TYPED}\n"
    assert sent.alternatives[0].content == stored.body_html


def test_the_html_part_still_escapes_markup(probe_templates):
    email_queue(
        to="someone@example.com",
        template="probe",
        context={"value": '<script>alert(1)</script><img src=x onerror="x()">'},
    )
    html = OutboundEmail.objects.get().body_html
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
