from django.db import transaction

from ssa_ops.celery import app as celery_app
from ssa_ops.models import OutboundEmail
from ssa_ops.notifications import email_queue
from ssa_ops.roles import Role
from tests.conftest import real_worker, wait_while_status

pytestmark = real_worker()


def test_a_real_worker_sends_a_queued_email_through_redis(make_user):
    from celery.contrib.testing.worker import start_worker

    user = make_user(Role.OPS)
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
    ):
        with transaction.atomic():
            email = email_queue(
                to=user.email,
                template="password_reset",
                context={
                    "user": user,
                    "protocol": "https",
                    "domain": "ssa.example.com",
                    "uid": "MQ",
                    "token": "t-1",
                },
            )
        wait_while_status(email, OutboundEmail.Status.QUEUED, seconds=30)
    assert email.status == OutboundEmail.Status.SENT
    assert email.attempts == 1
