import pytest
from django.conf import settings

from claims import tasks

pytestmark = pytest.mark.django_db


def test_beat_runs_the_claims_checks():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "claims.tasks.expire_preapplications",
        "claims.tasks.remind_resets",
        "claims.tasks.reject_unanswered_resets",
    } <= scheduled
    # with nothing due, each task does nothing
    assert tasks.expire_preapplications.delay().get() == 0
    assert tasks.remind_resets.delay().get() == 0
    assert tasks.reject_unanswered_resets.delay().get() == 0
