"""What a seeding run reports: how many of each thing it created, and how long it took."""

from collections.abc import Callable
from dataclasses import dataclass, field

Log = Callable[[str], None]


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n
