import pytest
from django.core.management import CommandError, call_command

from dealers.models import Dealer, DealerChangeRequest
from ssa_ops.models import OutboundEmail, User

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
    assert User.objects.get(username="dealer").check_password("demo")
    # running it again adds nothing
    counts = (Dealer.objects.count(), DealerChangeRequest.objects.count(), User.objects.count())
    call_command("seed_demo", password="other")
    assert (
        Dealer.objects.count(),
        DealerChangeRequest.objects.count(),
        User.objects.count(),
    ) == counts
    assert User.objects.get(username="ops").check_password("other")


def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()
