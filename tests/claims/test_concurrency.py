import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import translation

from claims import services
from claims.models import Claim
from ssa_ops import workflow
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import ApplicationError, TransitionNotAllowed
from ssa_ops.roles import Role
from tests.claims.factories import Setting, vin
from tests.conftest import requires_row_locks

pytestmark = [
    requires_row_locks(),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("english"),
]


def _at_once(*calls):
    """Run each call in its own thread (its own database connection), released together."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        translation.activate("en")
        barrier.wait()
        try:
            call()
            outcomes[index] = "won"
        except ApplicationError as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def _slow_audit(monkeypatch):
    """Widen the race: a transition holds its lock a while between its update and its audit."""
    build = workflow.audit_event_build

    def slow(**kwargs):
        time.sleep(0.4)
        return build(**kwargs)

    monkeypatch.setattr(workflow, "audit_event_build", slow)


def test_two_ops_deciding_one_claim_at_once_exactly_one_wins(make_user, reasons, monkeypatch):
    # given a claim in review and two ops users
    setting = Setting(make_user)
    second = make_user(Role.OPS_LEAD)
    claim = setting.claim(submit=True)
    services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    _slow_audit(monkeypatch)
    # when one approves while the other rejects
    outcomes = _at_once(
        lambda: services.claim_approve(actor=setting.ops, pk=claim.pk),
        lambda: services.claim_reject(actor=second, pk=claim.pk, reasons=["NOT_ELIGIBLE"]),
    )
    # then exactly one stands and the other is told the state it found
    winners = [o for o in outcomes if o == "won"]
    losers = [o for o in outcomes if o != "won"]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], TransitionNotAllowed)
    claim.refresh_from_db()
    assert claim.status in (Claim.Status.APPROVED, Claim.Status.REJECTED)
    assert losers[0].message == f"Not possible now: this record is {claim.get_status_display()}."
    assert audit_events_for(claim).filter(action__in=["approve", "reject"]).count() == 1


def test_one_vin_submitted_twice_at_once_only_one_is_live(make_user, monkeypatch):
    # given two drafts of one vehicle (two dealers' users could do the same)
    setting = Setting(make_user)
    number = vin()
    first, second = setting.claim(vin=number), setting.claim(vin=number)
    _slow_audit(monkeypatch)
    # when both are submitted at the same moment
    outcomes = _at_once(
        lambda: services.claim_submit(actor=setting.dealer_user, pk=first.pk),
        lambda: services.claim_submit(actor=setting.dealer_user, pk=second.pk),
    )
    # then one is submitted, the other refused as already claimed and still a draft
    assert sorted(str(o) for o in outcomes if o == "won") == ["won"]
    loser = next(o for o in outcomes if o != "won")
    assert loser.code == "vin_claimed"
    states = sorted(Claim.objects.filter(vin=number).values_list("status", flat=True))
    assert states == ["draft", "submitted"]


def test_two_ops_taking_next_at_once_get_different_claims(make_user):
    setting = Setting(make_user)
    second = make_user(Role.OPS)
    for _ in range(2):
        setting.claim(submit=True)
    taken = {}

    def take(user):
        taken[user.pk] = services.claim_take_next(actor=user).pk

    outcomes = _at_once(lambda: take(setting.ops), lambda: take(second))
    assert outcomes == ["won", "won"]
    assert len(set(taken.values())) == 2


def test_a_bulk_decision_and_a_single_one_racing_on_one_claim_one_wins(
    make_user, reasons, monkeypatch
):
    # given a claim in review
    setting = Setting(make_user)
    second = make_user(Role.OPS_LEAD)
    claim = setting.claim(submit=True)
    services.claim_pick_up(actor=second, pk=claim.pk)
    _slow_audit(monkeypatch)
    result = {}

    def bulk():
        result["bulk"] = services.claims_bulk_decide(
            actor=setting.ops, claim_ids=[claim.pk], decision="approve"
        )

    # when a bulk approval and a single rejection arrive together
    outcomes = _at_once(
        bulk,
        lambda: services.claim_reject(actor=second, pk=claim.pk, reasons=["NOT_ELIGIBLE"]),
    )
    claim.refresh_from_db()
    decided, skipped = result["bulk"]
    # then exactly one decision stands, and the bulk summary says whether it won or why not
    assert audit_events_for(claim).filter(action__in=["approve", "reject"]).count() == 1
    if claim.status == Claim.Status.APPROVED:
        assert (decided, skipped) == ([claim.number], [])
        assert isinstance(outcomes[1], TransitionNotAllowed)
    else:
        assert claim.status == Claim.Status.REJECTED and outcomes[1] == "won"
        assert decided == [] and [row["code"] for row in skipped] == ["transition_not_allowed"]


def _waiting_for_a_lock(pid) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def test_a_bulk_batch_caught_in_a_deadlock_decides_its_claims_one_by_one(make_user):
    # given two claims in review, decided in one bulk batch
    setting = Setting(make_user)
    first, second = (setting.claim(submit=True) for _ in range(2))
    for claim in (first, second):
        services.claim_pick_up(actor=setting.ops, pk=claim.pk)
    bulk_pid, result = {}, {}

    def bulk():
        try:
            with connection.cursor():  # connected: the server process that will wait is known
                bulk_pid["pid"] = connection.connection.info.backend_pid
            result["bulk"] = services.claims_bulk_decide(
                actor=setting.ops, claim_ids=[first.pk, second.pk], decision="approve"
            )
        finally:
            connection.close()

    # when another transaction holds the second claim, the batch locks the first and waits,
    # and that transaction then asks for the first claim (a deadlock: PostgreSQL ends the
    # batch's transaction, which has waited longest)
    with transaction.atomic():
        workflow.lock_for_update(Claim.objects.all(), second.pk)
        thread = threading.Thread(target=bulk)
        thread.start()
        deadline = time.monotonic() + 10
        while not (bulk_pid.get("pid") and _waiting_for_a_lock(bulk_pid["pid"])):
            assert time.monotonic() < deadline, "the bulk batch never waited for the lock"
            time.sleep(0.05)
        workflow.lock_for_update(Claim.objects.all(), first.pk)
    thread.join(timeout=30)
    # then the batch was undone and its claims decided one by one once the lock was free:
    # both approved, each audited once
    decided, skipped = result["bulk"]
    assert (decided, skipped) == ([first.number, second.number], [])
    for claim in (first, second):
        claim.refresh_from_db()
        assert claim.status == Claim.Status.APPROVED
        assert audit_events_for(claim).filter(action="approve").count() == 1
