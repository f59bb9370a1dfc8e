"""Sentences the system stores for later readers: kept as source text and parameters, and
translated when read, so a job started by an English user reads in Chinese to a Chinese user.

    stored = text_store(gettext_lazy("%(n)s dealers exported."), n=12)   # saved as JSON
    text_render(stored)                                               # in the reader's language

Parameters that are themselves translatable (labels declared with gettext_lazy, choice labels)
are stored the same way and translated with the sentence.
"""

from django.utils import translation
from django.utils.functional import Promise


def _source(message) -> str:
    if isinstance(message, Promise):
        # English is the source language: with no English catalogue, gettext returns the msgid.
        with translation.override("en"):
            return str(message)
    return str(message)


def _stored_param(value):
    if isinstance(value, Promise):
        return {"text": _source(value)}
    if value is None or isinstance(value, bool | int | float | str | dict):
        return value
    return str(value)


def text_store(message, /, **params) -> dict:
    """A sentence to keep: its source text and its parameters, as JSON."""
    stored = {"text": _source(message)}
    if params:
        stored["params"] = {key: _stored_param(value) for key, value in params.items()}
    return stored


def text_from_error(error) -> dict:
    """A ValidationError's or ApplicationError's sentences, kept to be read later: lazy
    messages with their params are stored untranslated; several are joined."""
    from django.core.exceptions import ValidationError

    if isinstance(error, ValidationError):
        parts = [
            text_store(item.message, **(item.params or {}))
            if item.params
            else text_store(item.message)
            for item in _error_items(error)
        ]
    else:
        parts = [getattr(error, "text", None) or text_store(str(getattr(error, "message", error)))]
    return parts[0] if len(parts) == 1 else {"text": "", "parts": parts}


def _error_items(error):
    if hasattr(error, "error_dict"):
        for errors in error.error_dict.values():
            yield from errors
    else:
        yield from error.error_list


def is_stored_text(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("text"), str)


def text_render(value) -> str:
    """A stored sentence in the active language; plain strings (people's own words) as they are."""
    if value in (None, "", {}):
        return ""
    if not is_stored_text(value):
        return str(value)
    if value.get("parts"):
        return "; ".join(text_render(part) for part in value["parts"])
    translated = translation.gettext(value["text"]) if value["text"] else ""
    params = value.get("params")
    if not params:
        return translated
    rendered = {
        key: text_render(item) if is_stored_text(item) else item for key, item in params.items()
    }
    try:
        return translated % rendered
    except (KeyError, ValueError, TypeError):
        return value["text"] % rendered if "%" in value["text"] else value["text"]
