"""The supervisor's console (`/supervise/`) is the annotator's page, but some of its panels
are about visits. Other apps contribute those panels here, as they contribute task kinds
(`annotator.kinds`), so that nothing in `annotator` imports them: `validation` registers its
turnaround, automation and chart panels from its AppConfig.ready().

A panel is a named template partial with a context function `(user, stores) -> dict`. The
console renders every panel in `order`; each one refreshes itself with htmx from
`/supervise/panel/?name=<name>` every `every_s` seconds (0: never).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    # A template, usually a partial: "validation/dashboard.html#turnaround".
    template: str
    context: Callable[[Any, Any], dict]
    order: int = 100
    # Seconds between refreshes: None follows settings.CONSOLE_REFRESH_S, 0 never refreshes.
    refresh_s: int | None = None

    @property
    def every_s(self) -> int:
        return settings.CONSOLE_REFRESH_S if self.refresh_s is None else self.refresh_s


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    existing = _panels.get(panel.name)
    if existing is not None and existing != panel:
        raise ValueError(f"Console panel {panel.name!r} is already registered.")
    _panels[panel.name] = panel


def get(name: str) -> Panel:
    try:
        return _panels[name]
    except KeyError:
        raise LookupError(f"Unknown console panel {name!r}.") from None


def panels() -> list[Panel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.name))
