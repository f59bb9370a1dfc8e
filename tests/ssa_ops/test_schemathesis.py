"""schemathesis over the OpenAPI schema, against a live server, as Ops and as a dealer: no
operation answers a 5xx (`not_a_server_error`). Fixed budget: a set number of derandomized
examples per operation; every failing operation is listed, not only the first.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from dealers.models import Dealer, DealerChangeRequest
from ssa_ops.accounts import api_token_issue
from ssa_ops.roles import Role
from tests.dealers.factories import DealerContactFactory, DealerFactory, RegionFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Cases per role, shared by the schema's operations (at least 10 each), so that the run
# stays near a minute as operations are added.
CASES_PER_ROLE = 700


@pytest.fixture
def seeded(make_user, api_login, settings):
    """Two dealers with contacts, change requests filed through the API, and the callers."""
    settings.AXES_FAILURE_LIMIT = 10**6
    settings.AXES_ADDRESS_FAILURE_LIMIT = 10**6
    north = RegionFactory(code="STN")
    dealers = [DealerFactory(region=north), DealerFactory()]
    for dealer in dealers:
        DealerContactFactory(dealer=dealer)
    users = {
        "ops": make_user(Role.OPS),
        "dealer": make_user(Role.DEALER, dealer=dealers[0]),
        "dealer2": make_user(Role.DEALER, dealer=dealers[1]),
    }
    for name, submit in (("dealer", False), ("dealer", True), ("dealer2", True)):
        response = api_login(users[name]).post(
            "/api/v1/dealers/change-requests/",
            {
                "dealer": users[name].dealer.pk,
                "values": {"address": "接口测试路1号"},
                "submit": submit,
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    return users


def server_errors(base_url, user) -> list[str]:
    """Run every operation of the schema as `user`; the operations that answered a 5xx."""
    known_ids = sorted(
        {
            *DealerChangeRequest.objects.values_list("pk", flat=True),
            *Dealer.objects.values_list("pk", flat=True),
        }
    )
    headers = {"Authorization": f"Token {api_token_issue(user=user).key}"}
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/", headers=headers)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    examples = max(10, CASES_PER_ROLE // max(1, len(operations)))
    for operation in operations:

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), data=st.data())
        def check(case, data):
            # Ids that exist half the time, so that operations get past their 404.
            for name, generated in (case.path_parameters or {}).items():
                case.path_parameters[name] = data.draw(
                    st.sampled_from([*known_ids, generated]), label=name
                )
            case.call_and_validate(
                base_url=base_url, headers=headers, checks=[not_a_server_error], timeout=30
            )

        try:
            check()
        except Exception as error:  # one failing operation must not hide the next
            failures.append(f"{operation.label}: {str(error)[:2000]}")
    return failures


def test_no_operation_answers_a_server_error_as_ops(live_server, seeded):
    failures = server_errors(live_server.url, seeded["ops"])
    assert failures == [], "\n\n".join(failures)


def test_no_operation_answers_a_server_error_as_a_dealer(live_server, seeded):
    failures = server_errors(live_server.url, seeded["dealer"])
    assert failures == [], "\n\n".join(failures)
