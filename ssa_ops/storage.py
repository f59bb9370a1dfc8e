import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import cached_property


class PrivateStorage(FileSystemStorage):
    """Files that are never served by URL: only through views that check the owner's scope."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, os.path.join(settings.MEDIA_ROOT, "private"))

    @cached_property
    def base_url(self):
        return None

    def url(self, name):
        raise NotImplementedError("Private files are downloaded through permission-checking views")
