from django.contrib.auth.forms import PasswordResetForm

from ssa_ops.notifications import email_queue


class OutboxPasswordResetForm(PasswordResetForm):
    """Password reset mail goes through the outbox like every other message."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        user = context.get("user")
        email_queue(
            to=to_email,
            template="password_reset",
            context=context,
            language=getattr(user, "language", "zh-hans"),
            related_object=user,
        )
