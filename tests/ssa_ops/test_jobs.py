import pytest

from ssa_ops.jobs import job_run, job_start
from ssa_ops.models import BackgroundJob
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory

pytestmark = pytest.mark.django_db


def test_export_job_records_progress_and_result(make_user, django_capture_on_commit_callbacks):
    DealerFactory.create_batch(3)
    user = make_user(Role.OPS)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="dealer_export", actor=user)
    job.refresh_from_db()
    assert job.status == BackgroundJob.Status.SUCCEEDED
    assert (job.progress_done, job.progress_total, job.percent) == (3, 3, 100)
    assert job.result_name.startswith("dealers-") and job.result_name.endswith(".xlsx")
    assert job.started_at <= job.finished_at


def test_running_a_finished_job_again_does_nothing(make_user, django_capture_on_commit_callbacks):
    user = make_user(Role.OPS)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="dealer_export", actor=user)
    job.refresh_from_db()
    finished_at = job.finished_at
    again = job_run(job_id=job.pk)
    assert again.finished_at == finished_at
    assert again.status == BackgroundJob.Status.SUCCEEDED


def test_jobs_are_private_to_their_starter_unless_the_role_sees_all(
    client, make_user, django_capture_on_commit_callbacks
):
    owner = make_user(Role.OPS, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="dealer_export", actor=owner)
    client.force_login(make_user(Role.OPS))
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 404
    assert client.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    client.force_login(make_user(Role.IT))
    assert client.get(f"/jobs/{job.pk}/").status_code == 200
    client.force_login(owner)
    page = client.get(f"/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-job-status-url="/api/v1/jobs/' in page
    assert "Dealer export" in page and "dealer_export" not in page
    download = client.get(f"/jobs/{job.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")


def test_export_is_scoped_to_what_the_user_sees(make_user, django_capture_on_commit_callbacks):
    import io

    import openpyxl

    from tests.dealers.factories import RegionFactory

    north, south = RegionFactory(code="N"), RegionFactory(code="S")
    DealerFactory(region=north, code="N1")
    DealerFactory(region=south, code="S1")
    manager = make_user(Role.REGION_MANAGER, regions=[north])
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="dealer_export", actor=manager)
    job.refresh_from_db()
    sheet = openpyxl.load_workbook(io.BytesIO(job.result_file.open("rb").read()))["Dealers"]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["N1"]


def _running_job(user, *, started_minutes_ago):
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from ssa_ops.workflow import lock_for_update, transition_perform

    job = job_start(kind="dealer_export", actor=user)  # queued: its task never ran
    with transaction.atomic():
        locked = lock_for_update(BackgroundJob.objects.all(), job.pk)
        transition_perform(
            locked.start,
            actor=None,
            params={"at": timezone.now() - timedelta(minutes=started_minutes_ago)},
        )
    return job


def test_a_job_whose_worker_died_is_failed_by_the_sweep(make_user, settings, english):
    from ssa_ops.audit import audit_events_for
    from ssa_ops.tasks import fail_stale_background_jobs

    settings.CELERY_TASK_TIME_LIMIT = 30 * 60
    user = make_user(Role.OPS)
    dead = _running_job(user, started_minutes_ago=40)
    alive = _running_job(user, started_minutes_ago=10)
    assert fail_stale_background_jobs.delay().get() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == BackgroundJob.Status.FAILED
    assert "Start it again" in dead.message_display and dead.finished_at is not None
    assert audit_events_for(dead).first().action == "fail"
    assert alive.status == BackgroundJob.Status.RUNNING
    # the beat task runs again harmlessly
    assert fail_stale_background_jobs.delay().get() == 0
