from celery import shared_task

from ssa_ops.accounts import password_reset_email_send
from ssa_ops.jobs import job_run, jobs_fail_stale
from ssa_ops.models import OutboundEmail
from ssa_ops.notifications import outbound_email_send


@shared_task(bind=True, acks_late=True, max_retries=5)
def send_outbound_email(self, email_id):
    email = outbound_email_send(email_id=email_id)
    if email.status == OutboundEmail.Status.FAILED and not self.request.is_eager:
        from django.conf import settings

        if email.attempts < settings.EMAIL_MAX_ATTEMPTS:
            raise self.retry(countdown=30 * 2**email.attempts)
    return email.status


@shared_task(acks_late=True)
def run_background_job(job_id):
    return job_run(job_id=job_id).status


@shared_task
def fail_stale_background_jobs():
    return jobs_fail_stale()


@shared_task
def sweep_orphan_attachment_files():
    """Remove stored files no attachment refers to (left by requests that rolled back)."""
    from ssa_ops.attachments import attachments_sweep_orphans

    return attachments_sweep_orphans()


@shared_task
def send_password_reset(email, domain, use_https):
    return password_reset_email_send(email=email, domain=domain, use_https=use_https)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def render_attachment(attachment_id):
    """Make the browser-viewable copy of a HEIC, TIFF or OFD upload; idempotent."""
    from ssa_ops.renditions import attachment_render

    attachment = attachment_render(attachment_id=attachment_id)
    return attachment.rendition_status if attachment else None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def personal_data_retention():
    """Erase personal information past its retention period, a bounded batch at a time; runs
    again at once while more is due. Idempotent: erased records hold nothing more to erase."""
    from ssa_ops.personal_data_retention import personal_data_retention_run

    report = personal_data_retention_run()
    if report["more"]:
        personal_data_retention.delay()
    return report
