import pytest
from django.db import connection

from ssa_ops.celery import app as celery_app
from tests.ssa_ops.factories import UserFactory


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery(request, settings):
    """Tasks run in-process unless a test is marked real_broker (then a real worker runs them).
    A task's or a job's unexpected error fails the test instead of being recorded quietly."""
    settings.JOBS_RAISE_UNEXPECTED = True
    if request.node.get_closest_marker("real_broker"):
        yield
        return
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def _no_lockouts_between_tests(settings):
    settings.AXES_FAILURE_LIMIT = 5


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Counters kept in the cache (password-reset limits) start from zero in every test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def requires_row_locks():
    return pytest.mark.skipif(
        not connection.features.has_select_for_update,
        reason="row locks need PostgreSQL (CI runs these)",
    )


def real_worker():
    """Marks for a test that runs a real Celery worker through the real broker (CI's Redis)."""
    from django.conf import settings

    return [
        pytest.mark.real_broker,
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(
            not settings.CELERY_BROKER_URL.startswith("redis"),
            reason="needs CELERY_BROKER_URL=redis://… (CI sets it)",
        ),
    ]


def wait_while_status(record, status, *, seconds):
    """Reload `record` until its status is no longer `status` (a real worker is at it), or
    `seconds` have passed."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        record.refresh_from_db()
        if record.status != status:
            return
        time.sleep(0.2)


@pytest.fixture
def make_user(db):
    def make(role, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture(scope="session", autouse=True)
def _demo_without_bulk_history():
    """seed_demo without the other dealers' bulk history (tests/claims/test_demo.py seeds it)."""
    from django.test import override_settings

    with override_settings(DEMO_BULK_RECORDS=0):
        yield


@pytest.fixture
def page_client(db):
    """A browser-like client signed in as `user`, who reads the pages in English."""
    from django.test import Client

    def client_for(user):
        user.language = "en"
        user.save(update_fields=["language"])
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        return client

    return client_for


@pytest.fixture
def english():
    """Messages in English, for tests that read them."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def api_login(db):
    """An API client signed in with a token from the token endpoint, as a user made with
    make_user (password "demo")."""
    from rest_framework.test import APIClient

    def login(user):
        client = APIClient()
        response = client.post(
            "/api/v1/auth/token/", {"username": user.username, "password": "demo"}, format="json"
        )
        assert response.status_code == 200, response.content
        client.credentials(HTTP_AUTHORIZATION="Token " + response.json()["token"])
        return client

    return login
