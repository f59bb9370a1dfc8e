from celery import shared_task

from claims import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def expire_preapplications():
    """Beat: approved pre-applications past their validity expire, giving back entitlement."""
    return services.preapplications_expire()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def remind_resets():
    """Beat: remind dealers of resets to answer before CLAIM_RESET_ANSWER_DAYS run out."""
    return services.claims_reset_remind()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def reject_unanswered_resets():
    """Beat: claims whose reset was not answered in time are rejected, the dealer told."""
    return services.claims_reset_unanswered_reject()


# A reading takes seconds of CPU: never let a lost worker leave it half-done, and never let
# one document keep a worker busy for ever.
@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def read_invoice_document(check_id):
    """Read one invoice document of a claim and compare it with the claim (on upload and on
    "read again"). Running it twice does nothing more."""
    return services.invoice_check_run(check_id=check_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def requeue_stale_invoice_readings():
    """Beat: invoice readings whose worker was lost are queued again."""
    return services.invoice_checks_requeue_stale()
