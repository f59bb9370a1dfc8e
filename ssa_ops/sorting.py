"""Sorting a list by a column: the same keys for `?sort=` in pages, the API and exports."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Sorting:
    """`options` maps a public sort key to the model fields it orders by; `-key` reverses.
    The primary key always ends the order, so pages never repeat or skip rows."""

    options: dict[str, tuple[str, ...]]
    default: str

    def key_for(self, requested: str, *, strict=False) -> str:
        requested = (requested or "").strip()
        if requested.lstrip("-") in self.options:
            return requested
        if strict and requested:
            raise ValidationError(
                {"sort": _("Sort by one of: %(keys)s.") % {"keys": ", ".join(self.options)}},
                code="invalid_parameter",
            )
        return self.default

    def openapi_parameter(self):
        """The `?sort=` parameter of a list API, naming every key (for the OpenAPI schema)."""
        from drf_spectacular.utils import OpenApiParameter

        keys = ", ".join(self.options)
        return OpenApiParameter(
            "sort", str, description=f"Sort by {keys}; '-' before a key reverses"
        )

    def apply(self, queryset, requested: str, *, strict=False):
        key = self.key_for(requested, strict=strict)
        descending = key.startswith("-")
        fields = list(self.options[key.lstrip("-")])
        if descending:
            fields = [field[1:] if field.startswith("-") else f"-{field}" for field in fields]
        fields.append("-pk" if descending else "pk")
        return queryset.order_by(*fields), key
