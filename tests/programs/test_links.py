"""The emailed decision link: GET shows, only the page's POST decides, once; used, expired,
tampered, wrong-step and superseded links show a clear page and change nothing."""

import datetime

import pytest
from django.core import signing
from django.utils import timezone

from programs import services
from programs.models import SpecialApplication
from ssa_ops.audit import audit_events_for
from ssa_ops.links import decision_link_issue
from ssa_ops.models import DecisionLink
from ssa_ops.roles import Role
from tests.dealers.factories import DealerFactory
from tests.programs.conftest import latest_token
from tests.programs.factories import png_upload, vip_application

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

KAM = "kam@corp.example.com"


@pytest.fixture
def signing_application(make_user):
    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory(), submit=True)
    return application


def _url(token):
    return f"/links/{token}/"


def _state(application):
    application.refresh_from_db()
    return (
        application.status,
        list(application.steps.order_by("position").values_list("status", flat=True)),
        audit_events_for(application).count(),
    )


def test_opening_the_link_shows_the_application_and_decides_nothing(client, signing_application):
    before = _state(signing_application)
    # when the approver (or a mail scanner) opens the link, twice
    for _ in range(2):
        response = client.get(_url(latest_token(KAM)))
        assert response.status_code == 200
    # then the page shows the application, masked ID number, and nothing changed
    page = response.content.decode()
    assert signing_application.applicant_name in page
    assert signing_application.id_number.reveal() not in page
    assert str(signing_application.id_number) in page
    assert 'id="link-approve"' in page
    assert _state(signing_application) == before
    assert DecisionLink.objects.get(status="active").opened_at is not None


def test_the_page_post_decides_once_and_the_used_link_then_says_so(client, signing_application):
    token = latest_token(KAM)
    response = client.post(_url(token), {"decision": "approve", "comment": "同意"})
    assert response.status_code == 200 and 'id="link-done"' in response.content.decode()
    after_first = _state(signing_application)
    assert after_first[1] == ["approved", "pending"]
    # the same link again: a clear page, nothing changes
    for method in (client.get, client.post):
        again = method(_url(token), {"decision": "reject", "comment": "no"})
        assert again.status_code == 410
        assert 'data-problem="used"' in again.content.decode()
    assert _state(signing_application) == after_first


def test_a_reject_needs_a_comment(client, signing_application):
    before = _state(signing_application)
    response = client.post(_url(latest_token(KAM)), {"decision": "reject", "comment": " "})
    assert response.status_code == 200
    assert 'id="link-error"' in response.content.decode()
    assert _state(signing_application) == before


def test_an_expired_link_changes_nothing(client, signing_application, settings):
    token = latest_token(KAM)
    DecisionLink.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    before = _state(signing_application)
    response = client.post(_url(token), {"decision": "approve"})
    assert response.status_code == 410
    assert 'data-problem="expired"' in response.content.decode()
    assert _state(signing_application) == before


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "x" + token,
        lambda token: signing.dumps({"l": 1, "s": "guess"}, salt="ssa_ops.decision-link"),
        lambda token: "not-a-token",
    ],
)
def test_a_tampered_link_changes_nothing(client, signing_application, tamper):
    before = _state(signing_application)
    response = client.post(_url(tamper(latest_token(KAM))), {"decision": "approve"})
    assert response.status_code == 404
    assert 'data-problem="tampered"' in response.content.decode()
    assert _state(signing_application) == before


def test_a_link_for_a_step_that_is_not_waiting_changes_nothing(client, signing_application):
    # given a link made for the second step while the first is still the current one
    second = signing_application.steps.get(position=2)
    _link, token = decision_link_issue(
        purpose=services.LINK_PURPOSE,
        step=second,
        approver_name=second.approver_name,
        approver_email=second.approver_email,
    )
    before = _state(signing_application)
    response = client.post(_url(token), {"decision": "approve"})
    assert response.status_code == 409
    assert 'data-problem="wrong_step"' in response.content.decode()
    assert _state(signing_application) == before
    assert DecisionLink.objects.get(pk=_link.pk).status == "active"


def test_a_resent_link_supersedes_the_old_one(client, make_user, signing_application):
    old = latest_token(KAM)
    step = signing_application.steps.get(position=1)
    services.approval_step_resend(
        actor=make_user(Role.OPS), application_pk=signing_application.pk, step_pk=step.pk
    )
    before = _state(signing_application)
    response = client.post(_url(old), {"decision": "approve"})
    assert response.status_code == 410
    assert 'data-problem="superseded"' in response.content.decode()
    assert _state(signing_application) == before
    assert client.post(_url(latest_token(KAM)), {"decision": "approve"}).status_code == 200


def test_documents_open_through_a_live_link_only(client, make_user):
    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory())
    from ssa_ops.attachments import attachments_create

    attachment = attachments_create(owner=application, uploads=[png_upload("名片.png")], actor=ops)[
        0
    ]
    services.application_submit(actor=ops, pk=application.pk)
    token = latest_token(KAM)
    assert "名片.png" in client.get(_url(token)).content.decode()
    assert client.get(f"/links/{token}/documents/{attachment.pk}/").status_code == 200
    client.post(_url(token), {"decision": "approve"})
    assert client.get(f"/links/{token}/documents/{attachment.pk}/").status_code == 404
    assert SpecialApplication.objects.get(pk=application.pk).status == "signing"


def test_an_id_card_scan_opens_for_the_approver_and_the_look_is_recorded(client, make_user):
    from ssa_ops.attachments import attachments_create
    from ssa_ops.models import PersonalDataAccess

    ops = make_user(Role.OPS)
    application = vip_application(ops=ops, dealer=DealerFactory())
    scan = attachments_create(
        owner=application,
        uploads=[png_upload("身份证.png")],
        actor=ops,
        purpose="application_document",
    )[0]
    with scan.file.open("rb") as stored:
        assert not stored.read().startswith(b"\x89PNG")  # encrypted at rest
    services.application_submit(actor=ops, pk=application.pk)
    response = client.get(f"/links/{latest_token(KAM)}/documents/{scan.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    look = PersonalDataAccess.objects.get()
    assert look.user is None and KAM in look.reason


@pytest.mark.parametrize("comment", ["x" * 2001, "bad\x00text"])
def test_a_comment_that_cannot_be_stored_is_refused_on_the_page(
    client, signing_application, comment
):
    before = _state(signing_application)
    response = client.post(_url(latest_token(KAM)), {"decision": "reject", "comment": comment})
    assert response.status_code == 200
    assert 'id="link-error"' in response.content.decode()
    assert _state(signing_application) == before
    assert DecisionLink.objects.get(status="active").used_at is None


def test_an_unknown_decision_changes_nothing(client, signing_application):
    before = _state(signing_application)
    response = client.post(_url(latest_token(KAM)), {"decision": "delete"})
    assert response.status_code == 200 and 'id="link-error"' in response.content.decode()
    assert _state(signing_application) == before
