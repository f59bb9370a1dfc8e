"""Bodies and parameters an API must refuse with a JSON error and a code, saving nothing."""

import json

import pytest
from django.test import Client
from django.urls import path
from rest_framework.views import APIView

from dealers.models import DealerChangeRequest
from ssa_ops.api import int_param
from ssa_ops.roles import Role
from tests.dealers.factories import RegionFactory

pytestmark = pytest.mark.django_db

CREATE_URL = "/api/v1/dealers/change-requests/"


@pytest.fixture
def dealer_user(make_user):
    return make_user(Role.DEALER)


@pytest.fixture
def dealer_api(dealer_user, api_login):
    return api_login(dealer_user)


def post_raw(client, body: bytes, content_type="application/json"):
    return client.generic("POST", CREATE_URL, body, content_type=content_type)


def assert_refused(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == code, response.json()
    assert DealerChangeRequest.objects.count() == 0


def test_a_body_over_the_upload_limit_is_a_json_413(dealer_api, dealer_user, settings):
    # given a valid request padded past DATA_UPLOAD_MAX_MEMORY_SIZE
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = json.dumps(
        {"dealer": dealer_user.dealer.pk, "values": {}, "note": "x" * (1024 * 1024 + 1)}
    ).encode()
    # then it is refused as too large, in JSON, and nothing is saved
    assert_refused(post_raw(dealer_api, body), 413, "request_too_large")


def test_the_reported_six_megabyte_body_is_a_json_413(dealer_api, dealer_user):
    body = json.dumps({"dealer": dealer_user.dealer.pk, "note": "x" * (6 * 1024 * 1024)})
    assert_refused(post_raw(dealer_api, body.encode()), 413, "request_too_large")


def test_json_nested_five_thousand_deep_is_a_400_not_a_500(dealer_api, dealer_user):
    deep = "[" * 5000 + "]" * 5000
    body = f'{{"dealer": {dealer_user.dealer.pk}, "values": {{"name_en": {deep}}}}}'
    assert_refused(post_raw(dealer_api, body.encode()), 400, "invalid_json")


def test_json_nested_past_the_limit_is_refused_even_when_python_could_parse_it(
    dealer_api, dealer_user
):
    deep = '{"a": ' * 40 + "1" + "}" * 40
    body = f'{{"dealer": {dealer_user.dealer.pk}, "values": {deep}}}'
    assert_refused(post_raw(dealer_api, body.encode()), 400, "invalid_json")


@pytest.mark.parametrize(
    "body",
    [
        b'{"dealer": 1, "values": {"name_en": "\\ud800x"}}',  # lone surrogate, escaped
        b'{"dealer": 1, "values": {"\\udfff": "x"}}',  # lone surrogate in a key
        b'{"dealer": 1, "values": {"name_en": "\xed\xa0\x80"}}',  # surrogate as raw bytes
        b'{"dealer": 1, "values": {"name_en": "\xff\xfe"}}',  # not UTF-8 at all
        b'{"dealer": 1, "note": NaN}',
        b'{"dealer": 1, "note": 1e999}',
        b'{"dealer": 1, "values": {',
        b"",
        b"not json",
        b'{"dealer": 1}}',
        b'{"dealer": 1' + b"9" * 5000 + b"}",  # more digits than Python converts
    ],
    ids=[
        "escaped-surrogate",
        "surrogate-key",
        "raw-surrogate",
        "not-utf8",
        "nan",
        "infinity",
        "truncated",
        "empty-with-length",
        "not-json",
        "trailing",
        "huge-integer",
    ],
)
def test_malformed_json_is_a_400_invalid_json(dealer_api, dealer_user, body):
    body = body.replace(b'"dealer": 1', f'"dealer": {dealer_user.dealer.pk}'.encode(), 1)
    if body == b"":
        # an empty body is no body at all: the serializer names the missing field
        response = post_raw(dealer_api, body)
        assert response.status_code == 400 and response.json()["code"] == "invalid"
        assert DealerChangeRequest.objects.count() == 0
        return
    assert_refused(post_raw(dealer_api, body), 400, "invalid_json")


def test_a_body_of_another_content_type_is_a_json_415(dealer_api, dealer_user):
    response = post_raw(dealer_api, b"dealer=1", content_type="text/plain")
    assert_refused(response, 415, "unsupported_media_type")


def test_a_json_body_that_is_not_an_object_is_a_json_400(dealer_api):
    for body in (b"[1, 2]", b'"text"', b"42", b"null"):
        response = post_raw(dealer_api, body)
        assert response.status_code == 400, body
        assert response.json()["code"] == "invalid", body
    assert DealerChangeRequest.objects.count() == 0


def test_an_unknown_api_url_is_a_json_404():
    response = Client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": response.json()["detail"]}
    # pages outside the API keep the HTML page
    assert "text/html" in Client().get("/no-such-page/")["Content-Type"]


def test_an_unexpected_error_under_the_api_is_a_json_500(settings, monkeypatch):
    # given an API view that fails in a way nobody planned for
    class BrokenApi(APIView):
        permission_classes = []
        authentication_classes = []

        def get(self, request):
            raise RuntimeError("unplanned")

    from ssa_ops import urls

    monkeypatch.setattr(
        urls, "urlpatterns", [path("api/v1/broken/", BrokenApi.as_view()), *urls.urlpatterns]
    )
    from django.urls import clear_url_caches

    clear_url_caches()
    try:
        response = Client(raise_request_exception=False).get("/api/v1/broken/")
    finally:
        clear_url_caches()
    # then the answer is JSON with a code, not an HTML page
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error"


@pytest.mark.parametrize("region", ["abc", "99999999999999999999", "1.5", "-1", "0x10", "1_0"])
def test_a_bad_region_parameter_is_a_400_naming_it(make_user, api_login, region):
    response = api_login(make_user(Role.OPS)).get("/api/v1/dealers/", {"region": region})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert list(body["fields"]) == ["region"]


def test_a_good_region_parameter_still_filters(make_user, api_login):
    from tests.dealers.factories import DealerFactory

    north, south = RegionFactory(code="N"), RegionFactory(code="S")
    DealerFactory(region=north, code="N0001")
    DealerFactory(region=south, code="S0001")
    client = api_login(make_user(Role.OPS))
    listing = client.get("/api/v1/dealers/", {"region": str(north.pk)}).json()
    assert [row["code"] for row in listing["results"]] == ["N0001"]
    assert client.get("/api/v1/dealers/", {"region": ""}).json()["count"] == 2


def test_int_param_bounds_and_default(rf):
    from rest_framework.exceptions import ValidationError

    request = rf.get("/", {"page_size": " 25 ", "big": str(2**63)})
    assert int_param(request, "page_size") == 25
    assert int_param(request, "absent", default=7) == 7
    with pytest.raises(ValidationError):
        int_param(request, "page_size", maximum=10)
    with pytest.raises(ValidationError):
        int_param(request, "big")


def test_text_param_refuses_control_characters_and_overlong_text(rf):
    from rest_framework.exceptions import ValidationError

    from ssa_ops.api import text_param

    request = rf.get("/", {"q": "  上海 motors ", "nul": "a\x00b", "long": "x" * 201})
    assert text_param(request, "q") == "上海 motors"
    assert text_param(request, "absent", default="all") == "all"
    for name in ("nul", "long"):
        with pytest.raises(ValidationError) as refused:
            text_param(request, name)
        assert list(refused.value.detail) == [name]


def test_errors_are_json_whatever_the_client_accepts(dealer_api):
    # a browser's Accept header still gets the JSON error, not an HTML page
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = Client().get("/api/v1/dealers/", HTTP_ACCEPT=browser)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_authenticated"
    # and one that accepts nothing JSON is told so in JSON
    response = Client().get("/api/v1/dealers/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"
    response = post_raw(dealer_api, b"{", content_type="application/json")
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid_json"
