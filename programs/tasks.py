from celery import shared_task

from programs import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def remind_approvers():
    """Beat: remind approvers who have not decided within PROGRAM_APPROVAL_REMINDER_DAYS."""
    return services.approval_steps_remind()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def expire_applications():
    """Beat: approved applications past their validity become expired."""
    return services.applications_expire()
