import pytest
from django.core.management import CommandError, call_command

from dealers.models import Dealer, DealerChangeRequest
from ssa_ops.attachments import attachments_for
from ssa_ops.models import Attachment, BackgroundJob, OutboundEmail, User

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_seed_demo_gives_every_role_a_login_and_records_in_every_state(client, settings):
    # Real commits: seed_demo's tasks run on commit, as they do in `make run`.
    settings.DEBUG = True  # pytest runs with DEBUG off; seed_demo is for development
    call_command("seed_demo")
    roles = {u.username: u.role for u in User.objects.all()}
    assert roles == {
        "ops": "ops",
        "opslead": "ops_lead",
        "region": "region_manager",
        "qc": "qc",
        "dealer": "dealer",
        "dealer2": "dealer",
        "vendor": "vendor",
        "it": "it",
        "admin": "admin",
    }
    assert User.objects.get(username="dealer").dealer != User.objects.get(username="dealer2").dealer
    assert Dealer.objects.count() == 60
    assert set(Dealer.objects.values_list("status", flat=True)) == set(Dealer.Status.values)
    assert set(DealerChangeRequest.objects.values_list("status", flat=True)) == set(
        DealerChangeRequest.Status.values
    )
    assert set(OutboundEmail.objects.values_list("status", flat=True)) >= {"sent", "failed"}
    jobs = {job.kind: job for job in BackgroundJob.objects.all()}
    assert jobs["dealer_export"].status == "succeeded" and jobs["dealer_export"].result_file
    assert jobs["dealer_import"].status == "failed" and jobs["dealer_import"].result_file
    submitted = DealerChangeRequest.objects.get(status="submitted")
    documents = list(attachments_for(submitted))
    assert [a.original_name for a in documents] == ["营业执照-示例.png", "营业执照副本-复印机.tiff"]
    # the copier's TIFF has its two pages previewed for the browser
    assert documents[1].rendition_status == "ready" and documents[1].renditions.count() == 2
    assert User.objects.get(username="dealer").check_password("demo")
    # running it again adds nothing
    models = (Dealer, DealerChangeRequest, User, BackgroundJob, Attachment)
    counts = [model.objects.count() for model in models]
    call_command("seed_demo", password="other")
    assert [model.objects.count() for model in models] == counts
    assert User.objects.get(username="ops").check_password("other")


def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()
