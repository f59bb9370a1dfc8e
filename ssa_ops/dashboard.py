"""The home page is made of panels that apps register at ready(); each decides for itself
whether the user sees it."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DashboardPanel:
    """`context(user)` returns the panel's template context, or None to leave it out."""

    template: str
    context: Callable
    order: int = 100


_PANELS: list[DashboardPanel] = []


def dashboard_panel_register(panel: DashboardPanel) -> None:
    if panel not in _PANELS:
        _PANELS.append(panel)


def dashboard_panels(user) -> list[dict]:
    shown = []
    for panel in sorted(_PANELS, key=lambda panel: panel.order):
        context = panel.context(user)
        if context is not None:
            shown.append({"template": panel.template, "context": context})
    return shown
