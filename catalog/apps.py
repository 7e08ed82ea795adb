from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_tables(*, using: str = "default", **kwargs) -> None:
    """`migrate` also creates the database cache's table (API throttles), so no deployment
    step can be forgotten; createcachetable leaves an existing table alone."""
    call_command("createcachetable", database=using, verbosity=0)


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        post_migrate.connect(create_cache_tables, sender=self)
