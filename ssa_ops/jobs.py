"""Background jobs: long work runs in a Celery task tracked by a BackgroundJob record."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from ssa_ops.errors import ApplicationError
from ssa_ops.models import BackgroundJob
from ssa_ops.workflow import lock_for_update, transition_perform

logger = logging.getLogger(__name__)

STALE_MARGIN = timedelta(minutes=5)

# kind -> dotted path of a function(job, progress) -> JobOutcome, and what people call it
_HANDLERS: dict[str, str] = {}
_LABELS: dict[str, str] = {}


def job_handler_register(kind: str, dotted_path: str, *, label) -> None:
    _HANDLERS[kind] = dotted_path
    _LABELS[kind] = label


def job_kind_label(kind: str):
    return _LABELS.get(kind, kind)


@dataclass
class JobOutcome:
    ok: bool
    message: str = ""
    result: bytes | None = None
    result_name: str = ""
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    summary: dict = field(default_factory=dict)


# Errors kept on the job record for display; the result workbook has all of them.
MAX_ERRORS_SHOWN = 500


def job_start(*, kind, actor, params=None, input_bytes=None, input_name="") -> BackgroundJob:
    if kind not in _HANDLERS:
        raise ApplicationError(f"Unknown job kind {kind}", code="unknown_job")
    job = BackgroundJob(kind=kind, created_by=actor, params=params or {}, input_name=input_name)
    if input_bytes is not None:
        job.input_file.save(
            f"{timezone.now():%Y%m%d%H%M%S}-{kind}.bin", ContentFile(input_bytes), save=False
        )
    job.save()
    from ssa_ops.tasks import run_background_job

    transaction.on_commit(lambda: run_background_job.delay(job.pk))
    return job


def job_progress(job_id, done, total, message="") -> None:
    # A plain UPDATE outside the job's own transactions so that viewers see it at once.
    BackgroundJob.objects.filter(pk=job_id).update(
        progress_done=done, progress_total=total, message=str(message)[:255]
    )


def job_run(*, job_id) -> BackgroundJob:
    """Run a queued job once; a job already started or finished is left alone."""
    with transaction.atomic():
        job = lock_for_update(BackgroundJob.objects.all(), job_id)
        if job.status != BackgroundJob.Status.QUEUED:
            return job
        transition_perform(
            instance=job,
            transition="start",
            actor=None,
            at=timezone.now(),
            update_fields=["started_at"],
        )
    handler: Callable = import_string(_HANDLERS[job.kind])
    try:
        # Messages and reports a job writes are read by the person who started it.
        with translation.override(job.created_by.language):
            outcome = handler(
                job, lambda done, total, message="": job_progress(job.pk, done, total, message)
            )
    except ApplicationError as error:
        outcome = JobOutcome(ok=False, message=error.message)
    except Exception:
        logger.exception("Background job %s failed", job.pk)
        outcome = JobOutcome(
            ok=False, message=_("The job stopped on an unexpected error; IT has the details.")
        )
    return _job_finish(job_id=job.pk, outcome=outcome)


def _job_finish(*, job_id, outcome: JobOutcome) -> BackgroundJob:
    with transaction.atomic():
        job = lock_for_update(BackgroundJob.objects.all(), job_id)
        if outcome.result is not None:
            job.result_file.save(
                f"{job.kind}-{job.pk}.xlsx", ContentFile(outcome.result), save=False
            )
            job.result_name = outcome.result_name or f"{job.kind}-{job.pk}.xlsx"
        job.errors = outcome.errors[:MAX_ERRORS_SHOWN]
        job.error_count = outcome.error_count or len(outcome.errors)
        job.summary = outcome.summary
        if outcome.ok:
            job.progress_done = job.progress_total
        transition_perform(
            instance=job,
            transition="succeed" if outcome.ok else "fail",
            actor=None,
            reason=outcome.message,
            at=timezone.now(),
            message=outcome.message,
            update_fields=[
                "finished_at",
                "message",
                "result_file",
                "result_name",
                "errors",
                "error_count",
                "summary",
                "progress_done",
            ],
        )
    return job


def jobs_fail_stale() -> int:
    """Fail the jobs whose worker died: running for longer than Celery lets any task run
    (the hard time limit) plus a margin. Returns how many were failed."""
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + STALE_MARGIN
    stale_ids = BackgroundJob.objects.filter(
        status=BackgroundJob.Status.RUNNING, started_at__lt=timezone.now() - limit
    ).values_list("pk", flat=True)
    failed = 0
    for job_id in list(stale_ids):
        with transaction.atomic():
            job = lock_for_update(BackgroundJob.objects.all(), job_id)
            if job.status != BackgroundJob.Status.RUNNING:  # finished meanwhile
                continue
            message = _("The job stopped without finishing (its worker was lost). Start it again.")
            transition_perform(
                instance=job,
                transition="fail",
                actor=None,
                reason="stale",
                at=timezone.now(),
                message=message,
                update_fields=["finished_at", "message"],
            )
            failed += 1
    return failed


def job_list(*, user):
    jobs = BackgroundJob.objects.select_related("created_by")
    if user.has_perm("ssa_ops.view_all_jobs"):
        return jobs
    return jobs.filter(created_by=user)


def job_get(*, user, job_id) -> BackgroundJob:
    job = job_list(user=user).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return job
