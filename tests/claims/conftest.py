import pytest

from tests.claims.factories import Setting
from tests.programs.factories import ReasonFactory


@pytest.fixture
def reasons(db):
    kinds = ["claims.claim", "claims.preapplication"]
    return [
        ReasonFactory(code="DOC_MISSING", applies_to=kinds),
        ReasonFactory(code="NOT_ELIGIBLE", applies_to=kinds),
    ]


@pytest.fixture
def setting(make_user):
    return Setting(make_user)
