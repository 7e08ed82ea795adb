"""The supervisor's console (`/supervise/`) is the annotator's page, but some of its panels
are about visits. Other apps contribute those panels here, as they contribute task kinds
(`annotator.kinds`), so that nothing in `annotator` imports them: `validation` registers its
turnaround, automation and chart panels from its AppConfig.ready().

A panel is a named template partial with a context function `(user, stores) -> dict`. The
console renders every panel in `order`; each one refreshes itself with htmx from
`/supervise/panel/?name=<name>` every `refresh_s` seconds (0: never).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    # A template, usually a partial: "validation/dashboard.html#turnaround".
    template: str
    context: Callable[[Any, Any], dict]
    order: int = 100
    refresh_s: int = 5


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
