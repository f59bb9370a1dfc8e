"""Emailed decision links for people without an account (an approver, an IT contact, a vendor).

A link is signed, bound to one person and one step, expires (DECISION_LINK_TTL_DAYS), and
decides once. Opening it (GET) only shows the page: mail scanners that prefetch links change
nothing; the page's POST decides. A used, expired, tampered or superseded link shows a page
saying so and changes nothing. Issuing a new link for the same step (resend, reassign,
reminder) supersedes the old one.

Apps register what a link of theirs shows and does at ready():

    decision_link_handler_register(
        "program_approval",
        page=lambda link: {"template": "programs/link_application.html", "application": ...},
        decide=step_decide,          # decide(link=, decision=, comment=) inside the transaction
        documents=lambda link: attachments_for(...),
    )
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ssa_ops.audit import audit_labels_register
from ssa_ops.errors import ApplicationError
from ssa_ops.models import DecisionLink
from ssa_ops.validation import text_clean
from ssa_ops.workflow import lock_for_update, transition_perform

_SALT = "ssa_ops.decision-link"
DECISIONS = ("approve", "reject")

# Why a link cannot be used, in the words of the page that says so.
PROBLEMS = {
    "tampered": _(
        "This link is not valid. Copy the whole address from the email, or ask the "
        "Special Sales team for a new one."
    ),
    "used": _(
        "This link has already been used: the decision was recorded. Nothing was changed now."
    ),
    "expired": _("This link has expired. Ask the Special Sales team to send a new one."),
    "superseded": _(
        "This link was replaced by a newer one (sent again or to another person). "
        "Use the newest email, or ask the Special Sales team."
    ),
    "wrong_step": _("This step is not waiting for a decision now. Nothing was changed."),
}

audit_labels_register(
    {"use": _("decided by email link"), "supersede": _("link replaced")}, model=DecisionLink
)


class LinkRefused(ApplicationError):
    """A decision link that may not decide: used, expired, tampered, superseded, wrong step."""

    status_code = 409

    def __init__(self, problem: str):
        super().__init__(PROBLEMS[problem], code=f"link_{problem}")
        self.problem = problem


@dataclass(frozen=True)
class LinkHandler:
    page: Callable  # page(link) -> context with "template" (the body shown above the form)
    decide: Callable  # decide(link=, decision=, comment=) -> the decided record
    documents: Callable | None = None  # documents(link) -> attachments the page may show


_HANDLERS: dict[str, LinkHandler] = {}


def decision_link_handler_register(purpose: str, *, page, decide, documents=None) -> None:
    _HANDLERS[purpose] = LinkHandler(page=page, decide=decide, documents=documents)


def decision_link_handler(purpose: str) -> LinkHandler:
    return _HANDLERS[purpose]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _steps(step):
    return DecisionLink.objects.filter(
        content_type=ContentType.objects.get_for_model(step), object_id=str(step.pk)
    )


def decision_link_issue(
    *, purpose, step, approver_name, approver_email, language="zh-hans", actor=None
) -> tuple[DecisionLink, str]:
    """A new link for `step` and its approver; the step's earlier links stop working. Returns
    the link and its token (only ever in the email: the database keeps a hash)."""
    if purpose not in _HANDLERS:
        raise ValueError(f"No decision link handler for {purpose!r}")
    with transaction.atomic():
        for old in _steps(step).filter(status=DecisionLink.Status.ACTIVE).select_for_update():
            transition_perform(old.supersede, actor=actor)
        secret = secrets.token_urlsafe(24)
        link = DecisionLink.objects.create(
            purpose=purpose,
            content_type=ContentType.objects.get_for_model(step),
            object_id=str(step.pk),
            approver_name=approver_name,
            approver_email=approver_email,
            language=language,
            secret_hash=_hash(secret),
            expires_at=timezone.now() + timedelta(days=settings.DECISION_LINK_TTL_DAYS),
        )
    token = signing.dumps({"l": link.pk, "s": secret}, salt=_SALT)
    return link, token


def decision_link_url(token: str) -> str:
    return settings.SITE_URL + reverse("decision-link", args=[token])


def decision_links_supersede(*, step, actor=None) -> int:
    """Stop every active link of `step` (e.g. the step was decided some other way)."""
    count = 0
    with transaction.atomic():
        for old in _steps(step).filter(status=DecisionLink.Status.ACTIVE).select_for_update():
            transition_perform(old.supersede, actor=actor)
            count += 1
    return count


def _link_for_token(token: str, *, lock=False) -> DecisionLink:
    try:
        payload = signing.loads(token, salt=_SALT)
        pk, secret = int(payload["l"]), str(payload["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused("tampered") from None
    links = DecisionLink.objects.all()
    try:
        link = lock_for_update(links, pk) if lock else links.get(pk=pk)
    except DecisionLink.DoesNotExist:
        raise LinkRefused("tampered") from None
    if not hmac.compare_digest(link.secret_hash, _hash(secret)):
        raise LinkRefused("tampered")
    return link


def _problem(link: DecisionLink) -> str | None:
    if link.status == DecisionLink.Status.USED:
        return "used"
    if link.status == DecisionLink.Status.SUPERSEDED:
        return "superseded"
    if link.expires_at <= timezone.now():
        return "expired"
    return None


def decision_link_open(token: str) -> DecisionLink:
    """The link behind `token` if it may still decide (LinkRefused otherwise). Records when it
    was first opened; decides nothing."""
    link = _link_for_token(token)
    problem = _problem(link)
    if problem:
        raise LinkRefused(problem)
    if link.opened_at is None:
        DecisionLink.objects.filter(pk=link.pk, opened_at=None).update(opened_at=timezone.now())
    return link


def decision_link_decide(*, token: str, decision: str, comment="") -> DecisionLink:
    """Decide the link's step once: lock the link, check it, let the app decide its step
    (which may refuse, e.g. the step is no longer waiting), mark the link used, audit both."""
    if decision not in DECISIONS:
        raise ApplicationError(_("Choose approve or reject."), code="invalid_decision")
    try:
        comment = text_clean(comment, max_length=2000, multiline=True)
    except ValidationError as error:
        raise ApplicationError(" ".join(error.messages), code="invalid_comment") from None
    if decision == "reject" and not comment:
        raise ApplicationError(_("Say why you reject it."), code="comment_required")
    with transaction.atomic():
        link = _link_for_token(token, lock=True)
        problem = _problem(link)
        if problem:
            raise LinkRefused(problem)
        _HANDLERS[link.purpose].decide(link=link, decision=decision, comment=comment)
        transition_perform(
            link.use,
            actor=None,
            actor_name=link.approver_name,
            reason=comment,
            params={"at": timezone.now(), "decision": decision, "comment": comment},
        )
    return link


def decision_link_documents(link: DecisionLink):
    handler = _HANDLERS[link.purpose]
    return handler.documents(link) if handler.documents else []
