import random

from django.core.files.uploadedfile import SimpleUploadedFile

from claims import services
from claims.invoice_reader.synthetic import invoice_generate, invoice_render
from claims.models import Claim, InvoiceCheck
from ssa_ops.celery import app as celery_app
from tests.claims.factories import Setting
from tests.conftest import real_worker, wait_while_status

pytestmark = real_worker()


def test_a_real_worker_reads_an_uploaded_invoice_through_redis(make_user):
    from celery.contrib.testing.worker import start_worker

    setting = Setting(make_user)
    claim = setting.claim(documents=False)
    rng = random.Random(9)
    file = invoice_render(invoice_generate(rng, "motor_vehicle"), "ofd", rng)
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
    ):
        # the upload only queues the reading (after its commit); the worker reads it
        services.claim_documents_add(
            actor=setting.dealer_user,
            pk=claim.pk,
            purpose="invoice",
            documents=[SimpleUploadedFile("invoice.ofd", file.data)],
        )
        check = InvoiceCheck.objects.get(claim=claim)
        wait_while_status(check, InvoiceCheck.Status.PENDING, seconds=60)
    assert check.status == InvoiceCheck.Status.READ
    assert check.attempts == 1
    # another sale's invoice: the claim shows the mismatch
    assert Claim.objects.get(pk=claim.pk).invoice_check == "mismatch"
