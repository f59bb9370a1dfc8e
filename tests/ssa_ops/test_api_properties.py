"""Property: whatever JSON any role sends to any write endpoint of the API, the answer is never
a 5xx, every error is JSON with a `code`, and a refused request saved nothing.

Endpoints are found in the URL resolver, so an endpoint added later is fuzzed too. The budget
is fixed (derandomized, a set number of examples per endpoint) so CI runs the same cases.
"""

import functools
import json
import re

import pytest
from django.apps import apps
from django.db import connection
from django.urls import get_resolver
from django.urls.resolvers import URLResolver
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from dealers.models import DealerChangeRequest, DealerContact
from ssa_ops.roles import Role
from tests.dealers.factories import DealerContactFactory, DealerFactory, RegionFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The file's budget, shared by the endpoints found so that the run stays near a minute as
# endpoints are added: an endpoint that takes a body gets three shares, one without a share,
# and none fewer than 20 examples.
TOTAL_EXAMPLES = 1350
WRITE_METHODS = ("post", "put", "patch", "delete")
# Records a refused request may leave: sign-in throttling and sessions are not app data.
NOT_APP_DATA = {"axes", "sessions"}


def _api_routes(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns, route)
        elif route.startswith("api/v1/"):
            view = getattr(pattern.callback, "cls", None) or getattr(
                pattern.callback, "view_class", None
            )
            for method in WRITE_METHODS:
                if view is not None and hasattr(view, method):
                    yield method.upper(), route


WRITE_ENDPOINTS = sorted(set(_api_routes()))

HOSTILE_TEXT = st.sampled_from(
    [
        "\ud800",
        "x\udfffy",
        "\x00",
        "a\x00b",
        "=1+1",
        '=HYPERLINK("http://evil.example/","x")',
        "<script>alert(1)</script>",
        "\u202egnp.exe",
        "💥" * 20,
        " ",
        "",
        "9" * 40,
        "x" * 300,
        "长" * 5000,
        "x" * 100_000,
    ]
)


# Words the wire format uses inside free-form objects (contact changes), which the schema
# cannot name: a fuzzing dictionary, so that bodies get past the first check more often.
WIRE_WORDS = ["action", "contact_id", "id", "values", "add", "update", "remove"]


@functools.cache
def _schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        node = _schema()["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node or {}


def _request_schema(method, route):
    """The JSON request body the OpenAPI schema gives the endpoint ({} when none)."""
    pattern = re.sub(r"<[^>]*>", r"\\{[^/]+\\}", re.escape("/" + route))
    for path, operations in _schema()["paths"].items():
        if re.fullmatch(pattern, path) and method.lower() in operations:
            content = operations[method.lower()].get("requestBody", {}).get("content", {})
            return _resolve(content.get("application/json", {}).get("schema"))
    return {}


@functools.cache
def _examples_per_endpoint():
    shares = {
        endpoint: 3 if _request_schema(*endpoint).get("properties") else 1
        for endpoint in WRITE_ENDPOINTS
    }
    unit = TOTAL_EXAMPLES / max(1, sum(shares.values()))
    return {endpoint: max(20, int(unit * share)) for endpoint, share in shares.items()}


def _key_pool(route, request_schema):
    """Property names of the request, editable field names of the route's app's models (what
    free-form objects such as a change's values hold), and the wire words."""
    keys = set(request_schema.get("properties", {})) | set(WIRE_WORDS)
    app_label = route.split("/")[2]
    if app_label in {config.label for config in apps.get_app_configs()}:
        for model in apps.get_app_config(app_label).get_models():
            keys.update(
                field.name
                for field in model._meta.concrete_fields
                if field.editable and not field.is_relation and not field.primary_key
            )
    return sorted(keys)


@pytest.fixture
def world(make_user, api_login):
    """Users in every role (two dealers), dealers with contacts, and change requests in
    several states, made through the API."""
    north = RegionFactory(code="FZN")
    dealer_one = DealerFactory(region=north)
    dealer_two = DealerFactory()
    for dealer in (dealer_one, dealer_two):
        DealerContactFactory(dealer=dealer)
    users = {  # the order Hypothesis tries them in
        "dealer": make_user(Role.DEALER, dealer=dealer_one),
        "ops": make_user(Role.OPS),
        "dealer2": make_user(Role.DEALER, dealer=dealer_two),
        "ops_lead": make_user(Role.OPS_LEAD),
        "region": make_user(Role.REGION_MANAGER, regions=[north]),
        "qc": make_user(Role.QC),
        "vendor": make_user(Role.VENDOR),
        "it": make_user(Role.IT),
        "admin": make_user(Role.ADMIN),
    }
    for name, submit in (("dealer", False), ("dealer", True), ("dealer2", True)):
        client = api_login(users[name])
        response = client.post(
            "/api/v1/dealers/change-requests/",
            {
                "dealer": users[name].dealer.pk,
                "values": {"address": "模糊测试路1号"},
                "submit": submit,
            },
            format="json",
        )
        assert response.status_code == 201, response.content
    # Real ids first: Hypothesis leans towards the first choices, and those reach the code.
    ids = [
        *DealerChangeRequest.objects.order_by("pk").values_list("pk", flat=True),
        dealer_one.pk,
        dealer_two.pk,
        *DealerContact.objects.order_by("pk").values_list("pk", flat=True),
    ]
    # ...three times as often as ids that exist nowhere.
    ids = [*dict.fromkeys(ids)] * 3 + [0, 10**9, 2**31]
    return {"users": users, "ids": ids}


def _row_counts():
    """Rows per app table, in one query (it runs twice per example)."""
    existing = set(connection.introspection.table_names())
    tables = sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if model._meta.app_label not in NOT_APP_DATA
            and model._meta.managed
            # a model some test module makes for itself has its table only while it runs
            and model._meta.db_table in existing
        }
    )
    counts = ", ".join(f"(SELECT COUNT(*) FROM {connection.ops.quote_name(t)})" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


def _bodies(request_schema, keys, ids):
    key = st.one_of(st.sampled_from(keys), st.text(max_size=12), HOSTILE_TEXT)
    scalar = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(ids),
        st.integers(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(WIRE_WORDS),
        st.text(max_size=30),
        HOSTILE_TEXT,
    )
    value = st.recursive(
        scalar,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(key, children, max_size=5)
        ),
        max_leaves=12,
    )
    plain_text = st.text(st.characters(exclude_characters="\x00"), max_size=30)
    # One or two fields with one value each: the shape a change of a few fields has.
    small_object = st.dictionaries(st.sampled_from(keys), scalar, min_size=1, max_size=2)
    free_object = st.dictionaries(
        st.sampled_from(keys), st.one_of(scalar, scalar, value), min_size=1, max_size=4
    )

    def for_property(node, *, strict):
        # The declared type (strict), so that bodies get past the serializer into the
        # services with hostile content inside; or mostly that and sometimes anything.
        node = _resolve(node)
        typed = {
            "integer": st.sampled_from(ids),
            "boolean": st.booleans(),
            "string": plain_text if strict else st.one_of(plain_text, HOSTILE_TEXT),
            "object": st.one_of(small_object, free_object),
        }.get(node.get("type"), value)
        if node.get("type") == "array":
            item = for_property(node.get("items", {}), strict=strict)
            typed = st.lists(item, max_size=3)
        return typed if strict else st.one_of(*[typed] * 6, value)

    def shaped(*, strict):
        # Strict bodies carry every property, so that the services see all of them at once.
        properties = request_schema.get("properties", {})
        required = set(properties if strict else request_schema.get("required", []))
        return st.fixed_dictionaries(
            {
                name: for_property(node, strict=strict)
                for name, node in properties.items()
                if name in required
            },
            optional={
                name: for_property(node, strict=strict)
                for name, node in properties.items()
                if name not in required
            },
        )

    if request_schema.get("properties"):
        strict = shaped(strict=True)
        document = st.one_of(strict, strict, strict, shaped(strict=False), free_object, value)
    else:
        document = st.one_of(free_object, value)

    @st.composite
    def body(draw):
        """(bytes, content type): JSON escaped or as raw UTF-8 (lone surrogates then are
        invalid bytes), deep nesting, and the odd body that is not JSON at all."""
        kind = draw(st.sampled_from(["json"] * 8 + ["deep", "deep-field", "raw", "form"]))
        if kind == "deep":
            depth = draw(st.integers(min_value=30, max_value=6000))
            return ("[" * depth + "]" * depth).encode(), "application/json"
        if kind == "raw":
            return draw(st.binary(max_size=60)), draw(
                st.sampled_from(
                    ["application/json", "text/plain", "multipart/form-data; boundary=x"]
                )
            )
        data = draw(document)
        if kind == "deep-field" and isinstance(data, dict):
            depth = draw(st.integers(min_value=30, max_value=900))
            data[draw(st.sampled_from(keys))] = json.loads("[" * depth + "]" * depth)
        text = json.dumps(data, ensure_ascii=draw(st.booleans()))
        raw = text.encode("utf-8", "surrogatepass")
        if kind == "form":
            return raw, "application/x-www-form-urlencoded"
        return raw, "application/json"

    return body()


def _url(route, ids, draw):
    return "/" + re.sub(
        r"<(?:(\w+):)?(\w+)>",
        lambda match: str(draw(st.sampled_from(ids))),
        route,
    )


@pytest.mark.parametrize(("method", "route"), WRITE_ENDPOINTS)
def test_no_write_endpoint_answers_5xx_or_saves_on_a_refusal(world, method, route, settings_):
    request_schema = _request_schema(method, route)
    keys = _key_pool(route, request_schema)
    bodies = _bodies(request_schema, keys, world["ids"])
    roles = [*world["users"], "anonymous"]

    @settings(
        max_examples=_examples_per_endpoint()[(method, route)],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data):
        role = data.draw(st.sampled_from(roles), label="role")
        url = _url(route, world["ids"], lambda strategy: data.draw(strategy, label="id"))
        body, content_type = data.draw(bodies, label="body")
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(world["users"][role])
        before = _row_counts()
        response = client.generic(method, url, body, content_type=content_type)
        assert response.status_code < 500, response.content[:500]
        if response.status_code >= 400:
            assert response["Content-Type"].startswith("application/json"), response.content
            payload = response.json()
            assert isinstance(payload, dict) and isinstance(payload.get("code"), str), payload
            after = _row_counts()
            assert after == before, {
                label: (before[label], after[label])
                for label in before
                if before[label] != after[label]
            }

    check()


@pytest.fixture
def settings_(settings):
    """Throttling stays out of the way so that every example reaches the endpoint's code."""
    settings.AXES_FAILURE_LIMIT = 10**6
    settings.AXES_ADDRESS_FAILURE_LIMIT = 10**6
    return settings


@pytest.mark.django_db(transaction=False)
def test_every_write_endpoint_is_found():
    # the resolver walk sees the endpoints known today (more may come)
    found = {route for _method, route in WRITE_ENDPOINTS}
    assert "api/v1/auth/token/" in found
    assert "api/v1/dealers/change-requests/" in found
    assert "api/v1/dealers/change-requests/<int:pk>/approve/" in found
