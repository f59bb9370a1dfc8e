"""Background jobs: long work runs in a Celery task tracked by a BackgroundJob record."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from ssa_ops.errors import ApplicationError
from ssa_ops.models import BackgroundJob
from ssa_ops.texts import is_stored_text, text_render, text_store
from ssa_ops.workflow import lock_for_update, transition_perform

logger = logging.getLogger(__name__)

STALE_MARGIN = timedelta(minutes=5)

# kind -> dotted path of a function(job, progress) -> JobOutcome, what people call it, and
# the words for its summary's keys
_HANDLERS: dict[str, str] = {}
_LABELS: dict[str, str] = {}
_SUMMARY_LABELS: dict[str, dict] = {}
_REPORT_BUILDERS: dict[str, str] = {}


def job_handler_register(
    kind: str, dotted_path: str, *, label, summary_labels=None, failure_report=None
) -> None:
    """`failure_report`: dotted path of a function(job) -> bytes that builds a failed job's
    report when it is downloaded, in the downloader's language."""
    _HANDLERS[kind] = dotted_path
    _LABELS[kind] = label
    _SUMMARY_LABELS[kind] = summary_labels or {}
    if failure_report:
        _REPORT_BUILDERS[kind] = failure_report


def job_result_content(job) -> bytes:
    """The job's file: a failed job's report is built anew in the reader's language."""
    if job.status == BackgroundJob.Status.FAILED and job.kind in _REPORT_BUILDERS:
        return import_string(_REPORT_BUILDERS[job.kind])(job)
    with job.result_file.open("rb") as result:
        return result.read()


def job_kind_label(kind: str):
    return _LABELS.get(kind, kind)


def job_summary_rows(job) -> list[tuple[str, object]]:
    """The job's summary as (label in the reader's language, value)."""
    labels = _SUMMARY_LABELS.get(job.kind, {})
    return [(str(labels.get(key, key)), value) for key, value in (job.summary or {}).items()]


def job_error_rows(job) -> list[dict]:
    """The job's recorded errors with every stored sentence in the reader's language."""
    return [
        {key: text_render(value) if is_stored_text(value) else value for key, value in row.items()}
        for row in job.errors or []
    ]


@dataclass
class JobOutcome:
    """What a job handler returns. `message` and the errors' texts are texts.text_store()
    values, so that whoever reads the job reads them in their own language."""

    ok: bool
    message: dict = field(default_factory=dict)
    result: bytes | None = None
    result_name: str = ""
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0
    summary: dict = field(default_factory=dict)


# Errors kept on the job record, for the page and the error report built when downloaded.
MAX_ERRORS_KEPT = 10_000


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
        progress_done=done,
        progress_total=total,
        message=message if is_stored_text(message) else text_store(message),
    )


def job_run(*, job_id) -> BackgroundJob:
    """Run a queued job once; a job already started or finished is left alone."""
    with transaction.atomic():
        job = lock_for_update(BackgroundJob.objects.all(), job_id)
        if job.status != BackgroundJob.Status.QUEUED:
            return job
        transition_perform(job.start, actor=None, params={"at": timezone.now()})
    handler: Callable = import_string(_HANDLERS[job.kind])
    try:
        outcome = handler(
            job, lambda done, total, message="": job_progress(job.pk, done, total, message)
        )
    except ApplicationError as error:
        outcome = JobOutcome(ok=False, message=error.text or text_store(error.message))
    except Exception:
        if settings.JOBS_RAISE_UNEXPECTED:
            raise
        logger.exception("Background job %s failed", job.pk)
        outcome = JobOutcome(
            ok=False,
            message=text_store(_("The job stopped on an unexpected error; IT has the details.")),
        )
    return _job_finish(job_id=job.pk, outcome=outcome)


def _job_finish(*, job_id, outcome: JobOutcome) -> BackgroundJob:
    if outcome.message and not is_stored_text(outcome.message):
        outcome.message = text_store(outcome.message)
    with transaction.atomic():
        job = lock_for_update(BackgroundJob.objects.all(), job_id)
        if outcome.result is not None:
            job.result_file.save(
                f"{job.kind}-{job.pk}.xlsx", ContentFile(outcome.result), save=False
            )
            job.result_name = outcome.result_name or f"{job.kind}-{job.pk}.xlsx"
        job.errors = outcome.errors[:MAX_ERRORS_KEPT]
        job.error_count = outcome.error_count or len(outcome.errors)
        job.summary = outcome.summary
        if outcome.ok:
            job.progress_done = job.progress_total
        transition_perform(
            job.succeed if outcome.ok else job.fail,
            actor=None,
            reason_text=outcome.message or None,
            params={"at": timezone.now(), "message": outcome.message},
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
            message = text_store(
                _("The job stopped without finishing (its worker was lost). Start it again.")
            )
            transition_perform(
                job.fail,
                actor=None,
                reason_text=message,
                params={"at": timezone.now(), "message": message},
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
