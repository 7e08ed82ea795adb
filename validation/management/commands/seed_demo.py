"""Load the demo data (stores, catalog, snippets, visits, people). Demo only: fixed passwords."""

from django.core.management.base import BaseCommand, CommandParser

from catalog.models import Store
from validation.demo.seed import seed_demo


class Command(BaseCommand):
    help = "Create the demo stores, catalog, snippets, visits and demo logins (idempotent; demo only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any store exists")
        parser.add_argument("--visits", type=int, default=500, help="how many visits (default 500)")
        parser.add_argument("--snippets", type=int, default=60, help="how many video snippets (default 60)")
        parser.add_argument("--seed", type=int, default=7, help="random seed of the generated content (default 7)")

    def handle(self, *args, if_empty: bool, visits: int, snippets: int, seed: int, **options) -> None:
        if if_empty and Store.objects.exists():
            self.stdout.write("The database already has stores; not loading demo data.")
            return
        summary = seed_demo(visits=max(0, visits), snippets=max(0, snippets), seed=seed, log=self.stdout.write)
        created = ", ".join(f"{n} {what}" for what, n in sorted(summary.created.items()) if n)
        created = created or "nothing (all present)"
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {summary.seconds:.1f} s; created {created}."))
