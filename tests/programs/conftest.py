import re

import pytest

from ssa_ops.models import OutboundEmail
from tests.programs.factories import ReasonFactory


def latest_token(email: str) -> str:
    """The decision-link token in the latest email to `email` (as the approver reads it)."""
    for message in OutboundEmail.objects.order_by("-pk"):
        if email in message.to:
            return re.search(r"/links/([^/\s\"]+)/", message.body_text).group(1)
    raise AssertionError(f"no email to {email}")


@pytest.fixture
def reasons(db):
    return [ReasonFactory(code="DOC_MISSING"), ReasonFactory(code="NOT_ELIGIBLE")]
