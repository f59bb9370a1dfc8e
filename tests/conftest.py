import pytest
from django.db import connection

from ssa_ops.celery import app as celery_app
from tests.ssa_ops.factories import UserFactory


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Tasks run in-process unless a test is marked real_broker (then a real worker runs them)."""
    if request.node.get_closest_marker("real_broker"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _no_lockouts_between_tests(settings):
    settings.AXES_FAILURE_LIMIT = 5


def requires_row_locks():
    return pytest.mark.skipif(
        not connection.features.has_select_for_update,
        reason="row locks need PostgreSQL (CI runs these)",
    )


@pytest.fixture
def make_user(db):
    def make(role, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def english():
    """Messages in English, for tests that read them."""
    from django.utils import translation

    with translation.override("en"):
        yield
