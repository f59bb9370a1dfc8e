"""How the API reads a request: token authentication, JSON bodies, query parameters.

Kept apart from ssa_ops.api because DRF imports its default authentication and parser
classes while rest_framework.views is still loading."""

import math
import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers
from rest_framework.authentication import TokenAuthentication


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token …`, accepted for API_TOKEN_TTL_HOURS after the key was issued."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and "HTTP_ACCEPT_LANGUAGE" not in request.META and result[0].language:
            # Without an Accept-Language header, a token's user reads the API in the language
            # saved on their account, as its pages do.
            translation.activate(result[0].language)
            request._request.LANGUAGE_CODE = translation.get_language()
        return result

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token.created < timezone.now() - timedelta(hours=settings.API_TOKEN_TTL_HOURS):
            raise exceptions.AuthenticationFailed(
                _("The token has expired; ask for a new one."), code="token_expired"
            )
        return user, token


# Deeper than this a JSON body is refused: no API input nests more than a few levels, and
# Python's own recursion limit must never be what stops a request.
JSON_MAX_DEPTH = 32


class InvalidJson(exceptions.ParseError):
    default_code = "invalid_json"


class InvalidParameter(exceptions.ValidationError):
    """A query parameter that is not what the endpoint takes: a 400 naming it."""


class JSONParser(parsers.JSONParser):
    """JSON bodies as RFC 7493 (I-JSON) has them: UTF-8 text with no lone surrogates, finite
    numbers, at most JSON_MAX_DEPTH levels deep. Anything else is a 400 `invalid_json`, so
    text that cannot be stored or written out again never reaches a service."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidJson(_("The JSON body is nested too deeply.")) from None
        except exceptions.ParseError as error:
            raise InvalidJson(str(error.detail)) from None
        _json_check(data)
        return data


def _json_check(data) -> None:
    pending = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _json_check_text(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidJson(_("The JSON body has a number out of range."))
        elif isinstance(value, dict | list):
            if depth >= JSON_MAX_DEPTH:
                raise InvalidJson(_("The JSON body is nested too deeply."))
            if isinstance(value, dict):
                for key in value:
                    _json_check_text(key)
                value = value.values()
            pending.extend((item, depth + 1) for item in value)


def _json_check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson(_("The JSON body has text that is not valid Unicode.")) from None


_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")


def int_param(request, name, *, default=None, minimum=-(2**63), maximum=2**63 - 1):
    """A whole-number query parameter, or `default` when it is absent or blank. Anything
    else (letters, a number beyond what the database holds) is a 400 `invalid_parameter`."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        return default
    if _WHOLE_NUMBER.fullmatch(raw) and minimum <= int(raw) <= maximum:
        return int(raw)
    message = _("Enter a whole number from %(minimum)s to %(maximum)s.") % {
        "minimum": minimum,
        "maximum": maximum,
    }
    raise InvalidParameter({name: [message]})


def text_param(request, name, *, default="", max_length=200):
    """A text query parameter, stripped; `default` when absent. Text no column can hold (NUL
    and other control characters, which PostgreSQL refuses) or longer than `max_length` is a
    400 `invalid_parameter` naming it."""
    raw = request.GET.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if len(text) > max_length or any(ord(character) < 32 for character in text):
        message = _("Enter at most %(count)s characters of text.") % {"count": max_length}
        raise InvalidParameter({name: [message]})
    return text
