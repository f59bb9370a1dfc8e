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
