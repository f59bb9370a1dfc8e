"""Install the test-only record for a test module: its table, its registrations, its URLs."""

from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

PERSONAL_KEY = "A" * 43 + "="
OTHER_KEY = "B" * 43 + "="
HASH_KEY = "C" * 43 + "="


@pytest.fixture(scope="module")
def personal_app(django_db_setup, django_db_blocker):
    from tests.personal_data_app.models import BuyerApplication
    from tests.personal_data_app.registration import register

    # pytest-django sets the test database up only when a selected test asks for one: refuse
    # to create the table anywhere else (the development database).
    name = str(connection.settings_dict["NAME"])
    assert "memorydb" in name or name.startswith("test_"), "request `db` with personal_app"
    with django_db_blocker.unblock():
        with connection.schema_editor() as editor:
            editor.create_model(BuyerApplication)
        ContentType.objects.get_for_model(BuyerApplication)
    register()
    yield BuyerApplication
    with django_db_blocker.unblock(), connection.schema_editor() as editor:
        editor.delete_model(BuyerApplication)
    ContentType.objects.clear_cache()


@pytest.fixture
def personal_settings(settings, personal_app):
    """Known keys, the test URLs and the test templates."""
    settings.PERSONAL_DATA_KEYS = [PERSONAL_KEY]
    settings.PERSONAL_DATA_HASH_KEY = HASH_KEY
    settings.ROOT_URLCONF = "tests.personal_data_app.urls"
    templates = [dict(settings.TEMPLATES[0])]
    templates[0]["DIRS"] = [*templates[0]["DIRS"], Path(__file__).parent / "templates"]
    settings.TEMPLATES = templates
    return settings
