import threading
import time

import pytest
from django.db import connection
from django.utils import translation

from dealers import services
from dealers.models import DealerChangeRequest
from ssa_ops import workflow
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import TransitionNotAllowed
from ssa_ops.roles import Role
from tests.conftest import requires_row_locks

pytestmark = [
    requires_row_locks(),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("english"),
]


def test_two_ops_deciding_at_once_exactly_one_wins(make_user, monkeypatch):
    # given a submitted change request and two ops users
    dealer_user = make_user(Role.DEALER)
    first, second = make_user(Role.OPS), make_user(Role.OPS_LEAD)
    change_request = services.change_request_create(
        actor=dealer_user, dealer=dealer_user.dealer, values={"address": "并发测试1号"}
    )
    services.change_request_submit(actor=dealer_user, pk=change_request.pk)
    # each decision holds its lock a while, so both arrive while the other is inside
    build = workflow.audit_event_build

    def slow_audit(**kwargs):
        time.sleep(0.4)
        return build(**kwargs)

    monkeypatch.setattr(workflow, "audit_event_build", slow_audit)
    barrier = threading.Barrier(2)
    outcomes = {}

    def decide(user, act):
        translation.activate("en")
        barrier.wait()
        try:
            if act == "approve":
                services.change_request_approve(actor=user, pk=change_request.pk, reason="ok")
            else:
                services.change_request_reject(actor=user, pk=change_request.pk, reason="no")
            outcomes[user.username] = "won"
        except TransitionNotAllowed as error:
            outcomes[user.username] = error.message
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(first, "approve")),
        threading.Thread(target=decide, args=(second, "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # then exactly one decision stands and the other was told it is already decided
    assert sorted(outcomes.values(), key=len)[0] == "won"
    loser_message = [m for m in outcomes.values() if m != "won"]
    change_request.refresh_from_db()
    # the loser is told the state the winner left (an approval may already be applied)
    states = {
        DealerChangeRequest.Status.REJECTED: ["Rejected"],
        DealerChangeRequest.Status.APPLIED: ["Approved", "Applied"],
    }[change_request.status]
    assert len(loser_message) == 1
    assert loser_message[0] in [f"Not possible now: this record is {s}." for s in states]
    decisions = audit_events_for(change_request).filter(action__in=["approve", "reject"])
    assert decisions.count() == 1
    winner = first if outcomes[first.username] == "won" else second
    assert change_request.decided_by == winner
    assert change_request.status in {
        DealerChangeRequest.Status.APPLIED,
        DealerChangeRequest.Status.REJECTED,
    }
