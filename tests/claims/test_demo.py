import pytest
from django.core.management import call_command

from claims.models import Claim, PreApplication
from ssa_ops.models import User

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_both_demo_dealers_claims_in_every_state(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    for login in ("dealer", "dealer2"):
        dealer = User.objects.get(username=login).dealer
        states = set(Claim.objects.filter(dealer=dealer).values_list("status", flat=True))
        assert states == set(Claim.Status.values), login
        pre_states = set(
            PreApplication.objects.filter(dealer=dealer).values_list("status", flat=True)
        )
        assert pre_states == set(PreApplication.Status.values), login
    from claims.models import SettlementBatch

    assert SettlementBatch.objects.count() == 2
    assert all(b.claim_count == b.claims.count() > 0 for b in SettlementBatch.objects.all())
    flagged = Claim.objects.filter(duplicate_invoice=True)
    assert flagged.count() == 2
    assert flagged.values("dealer").distinct().count() == 2
    counts = (Claim.objects.count(), PreApplication.objects.count())
    call_command("seed_demo")
    assert (Claim.objects.count(), PreApplication.objects.count()) == counts
