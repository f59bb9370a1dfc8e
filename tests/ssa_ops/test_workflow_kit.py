"""The workflow kit: one declaration on the model gives the endpoint, the buttons, the refusals
and the audit; the kit itself knows no domain."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from dealers import services
from dealers.models import DealerChangeRequest
from ssa_ops.accounts import role_groups_sync
from ssa_ops.audit import audit_events_for
from ssa_ops.errors import PermissionRefused, TransitionNotAllowed
from ssa_ops.jobs import job_start
from ssa_ops.models import AuditEvent, BackgroundJob
from ssa_ops.roles import ROLE_PERMISSIONS, Role
from ssa_ops.workflow import (
    actions_for,
    lock_for_update,
    transition_perform,
    transition_run,
    transition_run_each,
    workflow_for,
)

pytestmark = pytest.mark.django_db

DOMAIN_APPS = {"dealers", "claims", "programs", "quota"}


def test_the_kit_imports_no_domain_app():
    # given every Python module of the kit
    kit = Path(settings.BASE_DIR) / "ssa_ops"
    offenders = []
    for path in kit.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(kit)}: {name}"
                for name in names
                if name.split(".")[0] in DOMAIN_APPS
            ]
    # then none of them imports dealers, claims, programs or quota
    assert offenders == []


def test_a_field_set_only_inside_a_transition_is_saved(make_user):
    # given a running job; `succeed` sets finished_at and message, named nowhere else
    job = job_start(kind="dealer_export", actor=make_user(Role.OPS))
    with transaction.atomic():
        locked = lock_for_update(BackgroundJob.objects.all(), job.pk)
        transition_perform(locked.start, actor=None, params={"at": timezone.now()})
    finished = timezone.now()
    # when the transition runs through the kit
    with transaction.atomic():
        locked = lock_for_update(BackgroundJob.objects.all(), job.pk)
        transition_perform(
            locked.succeed, actor=None, params={"at": finished, "message": {"text": "Done"}}
        )
    # then every field it changed is in the database
    job.refresh_from_db()
    assert job.status == BackgroundJob.Status.SUCCEEDED
    assert job.finished_at == finished
    assert job.message == {"text": "Done"}


def test_transitions_run_on_many_records_each_on_its_own(make_user):
    # given three change requests, two submitted and one still a draft, and an id that does
    # not exist
    filer = make_user(Role.DEALER)
    ops = make_user(Role.OPS_LEAD)
    requests = [
        services.change_request_create(
            actor=filer, dealer=filer.dealer, values={"address": f"杭州市西湖区文三路{n}号"}
        )
        for n in range(3)
    ]
    for request in (requests[0], requests[2]):
        services.change_request_submit(actor=filer, pk=request.pk)
    missing = requests[-1].pk + 100

    # when ops approve then cancel each in one transaction, the third asked to approve twice
    def steps(request):
        return ("approve", "approve") if request.pk == requests[2].pk else ("approve", "cancel")

    with transaction.atomic():
        done, refused = transition_run_each(
            queryset=DealerChangeRequest.objects.all(),
            pks=[missing, requests[2].pk, requests[1].pk, requests[0].pk],
            steps=steps,
            actor=ops,
            reason="重复申请",
            params={"by": ops, "at": timezone.now(), "note": ""},
        )
    # then the first went through both steps, each audited, the reason with the last; the
    # others are told why not and keep no step: the third is still submitted although its
    # first approval was allowed
    assert list(done) == [requests[0].pk]
    assert isinstance(refused[missing], DealerChangeRequest.DoesNotExist)
    assert isinstance(refused[requests[1].pk], TransitionNotAllowed)
    assert isinstance(refused[requests[2].pk], TransitionNotAllowed)
    states = dict(
        DealerChangeRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list(
            "pk", "status"
        )
    )
    assert [states[request.pk] for request in requests] == ["cancelled", "draft", "submitted"]
    decisions = [
        list(
            audit_events_for(request)
            .filter(action__in=["approve", "cancel"])
            .order_by("pk")
            .values_list("action", "reason")
        )
        for request in requests
    ]
    assert decisions == [[("approve", ""), ("cancel", "重复申请")], [], []]


def test_an_error_while_writing_is_not_taken_for_a_refusal(make_user, submitted, monkeypatch):
    # given an audit that fails once the record's state is already written
    from django.core.exceptions import ValidationError

    from ssa_ops import workflow

    def failing(**kwargs):
        raise ValidationError("audit store refused")

    monkeypatch.setattr(workflow, "audit_event_build", failing)
    ops = make_user(Role.OPS_LEAD)
    # when the transition runs among others in one transaction
    with pytest.raises(ValidationError, match="audit store refused"), transaction.atomic():
        transition_run_each(
            queryset=DealerChangeRequest.objects.all(),
            pks=[submitted.pk],
            steps=("reject",),
            actor=ops,
            reason="地址有误",
            params={"by": ops, "at": timezone.now(), "note": "地址有误"},
        )
    # then the error is raised, not reported as a refusal, and nothing of it is kept
    submitted.refresh_from_db()
    assert submitted.status == DealerChangeRequest.Status.SUBMITTED


def test_a_refusal_caught_inside_a_transaction_leaves_it_usable(make_user, submitted):
    # given a transaction in which a transition is refused (the filer may not decide)
    with transaction.atomic():
        with pytest.raises(PermissionRefused):
            transition_run(
                queryset=DealerChangeRequest.objects.all(),
                pk=submitted.pk,
                name="approve",
                actor=submitted.created_by,
                params={"by": submitted.created_by, "at": timezone.now()},
            )
        # when the caller goes on in the same transaction
        ops = make_user(Role.OPS_LEAD)
        services.change_request_reject(actor=ops, pk=submitted.pk, reason="地址有误")
    # then what it did next is kept
    submitted.refresh_from_db()
    assert submitted.status == DealerChangeRequest.Status.REJECTED


def test_role_sync_fails_loudly_on_a_permission_that_does_not_exist(monkeypatch):
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.QC, [*ROLE_PERMISSIONS[Role.QC], "dealers.fly"])
    with pytest.raises(ImproperlyConfigured, match="dealers.fly"):
        role_groups_sync()


def test_every_declared_transition_has_one_endpoint_in_the_schema(make_user):
    workflow = workflow_for(DealerChangeRequest)
    assert set(workflow.transitions) == {"submit", "approve", "reject", "apply", "cancel"}
    client = APIClient()
    client.force_authenticate(make_user(Role.OPS))
    schema = client.get("/api/schema/?format=json").json()
    for name in workflow.transitions:
        path = f"/api/v1/dealers/change-requests/{{id}}/{name}/"
        assert list(schema["paths"][path]) == ["post"], name
        assert reverse(f"api-change-requests-{name}", args=[1]) == path.replace("{id}", "1")


@pytest.fixture
def submitted(make_user):
    filer = make_user(Role.DEALER)
    change_request = services.change_request_create(
        actor=filer, dealer=filer.dealer, values={"address": "杭州市西湖区文三路1号"}
    )
    return services.change_request_submit(actor=filer, pk=change_request.pk)


def _post(user, change_request, transition, body=None):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client.post(
        f"/api/v1/dealers/change-requests/{change_request.pk}/{transition}/",
        body or {},
        format="json",
    )


def test_refusals_say_404_403_409_and_400_each_with_a_code(make_user, submitted):
    events_before = AuditEvent.objects.count()
    # outside the caller's scope: 404
    assert _post(make_user(Role.DEALER), submitted, "approve").status_code == 404
    # a role without the permission: 403
    no_permission = _post(submitted.created_by, submitted, "approve")
    assert (no_permission.status_code, no_permission.json()["code"]) == (403, "permission_denied")
    # a reason required and missing: 400 naming the field
    missing = _post(make_user(Role.OPS), submitted, "reject")
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    # not possible in this state: 409
    wrong_state = _post(submitted.created_by, submitted, "submit")
    assert (wrong_state.status_code, wrong_state.json()["code"]) == (
        409,
        "transition_not_allowed",
    )
    # nothing happened
    submitted.refresh_from_db()
    assert submitted.status == DealerChangeRequest.Status.SUBMITTED
    assert AuditEvent.objects.count() == events_before


def test_four_eyes_whoever_filed_a_request_cannot_decide_it(make_user):
    ops = make_user(Role.OPS)
    change_request = services.change_request_create(
        actor=ops, dealer=make_user(Role.DEALER).dealer, values={"address": "自己提交的地址"}
    )
    change_request = services.change_request_submit(actor=ops, pk=change_request.pk)
    response = _post(ops, change_request, "approve")
    assert (response.status_code, response.json()["code"]) == (403, "own_request")
    assert actions_for(change_request, ops) == []
    change_request.refresh_from_db()
    assert change_request.status == DealerChangeRequest.Status.SUBMITTED


def test_a_condition_refuses_with_its_own_sentence(make_user, submitted, english):
    # given a draft whose dealer was terminated after it was filed
    filer = make_user(Role.DEALER)
    draft = services.change_request_create(
        actor=filer, dealer=filer.dealer, values={"address": "终止前的地址"}
    )
    type(filer.dealer).objects.filter(pk=filer.dealer_id).update(status="terminated")
    # when the dealer submits it over the API
    response = _post(filer, draft, "submit")
    # then 409 says why, and the draft stays a draft
    assert response.status_code == 409
    assert response.json() == {
        "code": "dealer_terminated",
        "detail": "The dealer is terminated: its data can no longer change.",
    }
    draft.refresh_from_db()
    assert draft.status == DealerChangeRequest.Status.DRAFT


def test_buttons_are_the_transitions_the_user_may_take_now(client, make_user, submitted):
    ops, other_dealer = make_user(Role.OPS, language="en"), make_user(Role.DEALER)
    assert [a["name"] for a in actions_for(submitted, ops)] == ["approve", "reject"]
    assert actions_for(submitted, submitted.created_by) == []
    assert actions_for(submitted, other_dealer) == []
    client.force_login(ops)
    page = client.get(f"/dealers/changes/{submitted.pk}/").content.decode()
    assert 'data-transition="approve"' in page and 'data-transition="reject"' in page
    assert 'data-confirm="Approve this request? The dealer&#x27;s data changes now."' in page
    assert 'data-transition="submit"' not in page


def test_the_audit_names_each_transition_in_the_readers_language(make_user, submitted):
    ops = make_user(Role.OPS)
    services.change_request_reject(actor=ops, pk=submitted.pk, reason="资料不全")
    event = audit_events_for(submitted).first()
    with translation.override("en"):
        assert (event.action_label, event.to_state_label) == ("rejected", "Rejected")
    with translation.override("zh-hans"):
        assert (event.action_label, event.to_state_label) == ("驳回", "已驳回")
    assert event.reason == "资料不全" and event.actor == ops


def test_two_decisions_in_a_row_only_the_first_wins(make_user, submitted):
    first, second = make_user(Role.OPS), make_user(Role.OPS)
    assert _post(first, submitted, "reject", {"reason": "不符合"}).status_code == 200
    late = _post(second, submitted, "approve", {"reason": "同意"})
    assert late.status_code == 409
    submitted.refresh_from_db()
    assert submitted.status == DealerChangeRequest.Status.REJECTED
    assert submitted.decided_by == first


def test_a_reason_typed_on_the_page_passes_the_same_checks_as_the_api(client, make_user, submitted):
    ops = make_user(Role.OPS, language="en")
    client.force_login(ops)
    response = client.post(
        f"/dealers/changes/{submitted.pk}/act/reject/", {"reason": "bad\x00reason"}, follow=True
    )
    assert "control character" in response.content.decode()
    too_long = _post(ops, submitted, "reject", {"reason": "长" * 2001})
    assert too_long.status_code == 400 and "reason" in too_long.json()["fields"]
    submitted.refresh_from_db()
    assert submitted.status == DealerChangeRequest.Status.SUBMITTED
    assert not audit_events_for(submitted).filter(action="reject").exists()


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_a_transition_with_the_record_as_it_now_is(make_user, submitted):
    # approving applies at once (the task runs in-process here): the answer says "applied"
    response = _post(make_user(Role.OPS), submitted, "approve", {"reason": "好"})
    assert response.status_code == 200
    assert response.json()["status"] == "applied"


def test_audit_words_are_each_models_own(monkeypatch):
    from ssa_ops import models as kit_models
    from ssa_ops.audit import audit_labels_register

    monkeypatch.setattr(kit_models, "AUDIT_ACTION_LABELS", dict(kit_models.AUDIT_ACTION_LABELS))
    monkeypatch.setattr("ssa_ops.audit.AUDIT_ACTION_LABELS", kit_models.AUDIT_ACTION_LABELS)
    # given another workflow that calls its own approval "signed off"
    audit_labels_register({"approve": "signed off"}, model=BackgroundJob)
    # then a change request's approval still reads "approved", the job's "signed off"
    for model, words in ((DealerChangeRequest, "approved"), (BackgroundJob, "signed off")):
        event = AuditEvent(content_type=ContentType.objects.get_for_model(model), action="approve")
        with translation.override("en"):
            assert event.action_label == words
