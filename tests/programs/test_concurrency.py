"""Two people acting at once never both win (PostgreSQL: row locks)."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import translation

from programs import services
from programs.models import EntitlementUse, SpecialApplication, SsaNumberCounter
from ssa_ops import links
from ssa_ops.errors import ApplicationError
from ssa_ops.links import decision_link_decide
from ssa_ops.models import DecisionLink
from ssa_ops.roles import Role
from tests.conftest import requires_row_locks
from tests.dealers.factories import DealerFactory
from tests.programs.conftest import latest_token
from tests.programs.factories import APPROVERS, vip_application

pytestmark = [
    requires_row_locks(),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("english"),
]


def _race(count, work):
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def run(index):
        translation.activate("en")
        barrier.wait()
        try:
            outcomes[index] = ("won", work(index))
        except ApplicationError as error:
            outcomes[index] = ("refused", error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_posts_of_one_link_decide_once(make_user, monkeypatch):
    # given an application waiting for its first approver, whose link is posted twice at once
    application = vip_application(ops=make_user(Role.OPS), dealer=DealerFactory(), submit=True)
    token = latest_token(APPROVERS[0]["email"])
    decide = services.approval_step_decide

    def slow_decide(**kwargs):
        time.sleep(0.4)  # hold the lock while the other POST arrives
        return decide(**kwargs)

    monkeypatch.setitem(
        links._HANDLERS,
        services.LINK_PURPOSE,
        links._HANDLERS[services.LINK_PURPOSE].__class__(
            page=links._HANDLERS[services.LINK_PURPOSE].page,
            decide=slow_decide,
            documents=None,
        ),
    )
    decisions = ["approve", "reject"]
    outcomes = _race(
        2,
        lambda i: decision_link_decide(token=token, decision=decisions[i], comment="c").decision,
    )
    # then one decision stands; the other was told the link is used
    assert sorted(o[0] for o in outcomes) == ["refused", "won"]
    assert [o[1] for o in outcomes if o[0] == "refused"] == ["link_used"]
    winner = next(o[1] for o in outcomes if o[0] == "won")
    first = application.steps.get(position=1)
    assert first.status == ("approved" if winner == "approve" else "rejected")
    assert DecisionLink.objects.filter(status="used").count() == 1


def test_entitlement_is_never_consumed_beyond_it(make_user):
    # given an approved application with an entitlement of 2 units
    application = vip_application(ops=make_user(Role.OPS), dealer=DealerFactory(), submit=True)
    for approver in APPROVERS:
        decision_link_decide(token=latest_token(approver["email"]), decision="approve")
    records = [DealerFactory() for _ in range(6)]
    # when six claims take one unit each at once
    outcomes = _race(
        6,
        lambda i: (
            services.application_entitlement_consume(
                application_id=application.pk, units=1, by_record=records[i]
            ).pk
        ),
    )
    # then exactly two got one, the others were refused
    assert sorted(o[0] for o in outcomes) == ["refused"] * 4 + ["won"] * 2
    assert {o[1] for o in outcomes if o[0] == "refused"} == {"entitlement_exceeded"}
    application.refresh_from_db()
    assert application.units_used == 2
    assert EntitlementUse.objects.filter(released_at=None).count() == 2


def test_ssa_numbers_are_unique_and_gap_free_under_concurrency():
    # given eight approvals taking numbers at once, two of which roll back afterwards
    def take(index):
        with transaction.atomic():
            number = services.ssa_number_next(year=2040)
            time.sleep(0.05)
            if index in (2, 5):
                raise ApplicationError("rolled back", code="rolled_back")
        return number

    outcomes = _race(8, take)
    numbers = sorted(o[1] for o in outcomes if o[0] == "won")
    # then the six that committed hold 1..6: no duplicate, no gap
    assert numbers == [f"SSA2040-{n:06d}" for n in range(1, 7)]
    assert SsaNumberCounter.objects.get(year=2040).last == 6


def test_concurrent_final_approvals_of_two_applications_get_different_numbers(make_user):
    ops = make_user(Role.OPS)
    applications = [vip_application(ops=ops, dealer=DealerFactory(), submit=True) for _ in range(2)]
    for application in applications:
        step = application.steps.get(position=1)
        services.approval_step_reassign(
            actor=ops,
            application_pk=application.pk,
            step_pk=step.pk,
            approver_name="A",
            approver_email=f"a{application.pk}@corp.example.com",
        )
        decision_link_decide(
            token=latest_token(f"a{application.pk}@corp.example.com"), decision="approve"
        )
        services.approval_step_reassign(
            actor=ops,
            application_pk=application.pk,
            step_pk=application.steps.get(position=2).pk,
            approver_name="B",
            approver_email=f"b{application.pk}@corp.example.com",
        )
    tokens = [latest_token(f"b{a.pk}@corp.example.com") for a in applications]
    _race(2, lambda i: decision_link_decide(token=tokens[i], decision="approve").pk)
    numbers = sorted(
        SpecialApplication.objects.filter(status="approved").values_list("ssa_number", flat=True)
    )
    year = numbers[0][3:7]
    assert numbers == [f"SSA{year}-000001", f"SSA{year}-000002"]
