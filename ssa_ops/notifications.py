"""The one way SSA Ops sends email: render, record in the outbox, send by a task on commit."""

import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from ssa_ops.models import OutboundEmail
from ssa_ops.workflow import lock_for_update, transition_perform

logger = logging.getLogger(__name__)

# template -> what the outbox calls that kind of email; apps add theirs at ready()
EMAIL_TEMPLATE_LABELS: dict[str, str] = {"password_reset": _("Password reset")}


def email_templates_register(labels: dict) -> None:
    EMAIL_TEMPLATE_LABELS.update(labels)


def _render_plain(name, context):
    # A subject or a text part is not HTML: "<" stays "<" (only the HTML part is escaped).
    return get_template(name).template.render(Context(context, autoescape=False))


def _render(template, context, language):
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = _render_plain(f"emails/{template}.subject.txt", context)
        text = _render_plain(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    return " ".join(subject.split()), text, html


def email_queue(*, to, template, context, language="zh-hans", related_object=None) -> OutboundEmail:
    """Record one email in the outbox and send it once the current transaction commits."""
    recipients = [to] if isinstance(to, str) else list(to)
    subject, text, html = _render(template, context, language)
    email = OutboundEmail.objects.create(
        to=recipients,
        subject=subject[:255],
        template=template,
        language=language,
        body_text=text,
        body_html=html,
        content_type=(
            ContentType.objects.get_for_model(related_object) if related_object else None
        ),
        object_id=str(related_object.pk) if related_object else "",
    )
    from ssa_ops.tasks import send_outbound_email

    transaction.on_commit(lambda: send_outbound_email.delay(email.pk))
    return email


def users_notify(*, users, template, context, related_object=None) -> list[OutboundEmail]:
    """One email per user with an address, each in the user's own language."""
    return [
        email_queue(
            to=user.email,
            template=template,
            context={**context, "recipient": user},
            language=user.language,
            related_object=related_object,
        )
        for user in users
        if user.email
    ]


def outbound_email_send(*, email_id) -> OutboundEmail:
    """Send a queued email once. Running it again after success does nothing."""
    with transaction.atomic():
        email = lock_for_update(OutboundEmail.objects.all(), email_id)
        retryable = (
            email.status == OutboundEmail.Status.FAILED
            and email.attempts < settings.EMAIL_MAX_ATTEMPTS
        )
        if email.status != OutboundEmail.Status.QUEUED and not retryable:
            return email
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=email.to,
        )
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
        OutboundEmail.objects.filter(pk=email.pk).update(attempts=F("attempts") + 1)
        email.refresh_from_db(fields=["attempts"])
        try:
            message.send()
        except Exception as error:  # any transport failure is recorded, not raised
            logger.warning("Email %s failed: %s", email.pk, error)
            reason = f"{type(error).__name__}: {error}"[:2000]
            transition, kwargs = "mark_failed", {"error": reason}
        else:
            reason, transition, kwargs = "", "mark_sent", {"at": timezone.now()}
        transition_perform(getattr(email, transition), actor=None, reason=reason, params=kwargs)
    return email


def outbound_email_resend(*, email_id, actor) -> OutboundEmail:
    """Put a failed email back in the queue (an ops decision) and send it again."""
    with transaction.atomic():
        email = lock_for_update(OutboundEmail.objects.all(), email_id)
        transition_perform(email.requeue, actor=actor)
        OutboundEmail.objects.filter(pk=email.pk).update(attempts=0)
        from ssa_ops.tasks import send_outbound_email

        transaction.on_commit(lambda: send_outbound_email.delay(email.pk))
    return email
