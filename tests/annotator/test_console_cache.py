"""The console's costly figures are shared for a few seconds through the "console" cache."""

from annotator.selectors.console import console_cached
from catalog.models import Store


def counter():
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    return compute


def test_figures_are_shared_per_set_of_stores_through_the_console_cache(settings, s001, s002):
    settings.CACHES = {**settings.CACHES, "console": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    compute = counter()

    assert console_cached("figures", stores=Store.objects.filter(pk=s001.pk), compute=compute) == 1
    assert console_cached("figures", stores=[s001], compute=compute) == 1
    assert console_cached("figures", stores=[s001, s002], compute=compute) == 2
    assert console_cached("other", stores=[s001], compute=compute) == 3


def test_without_a_console_cache_figures_are_computed_on_every_read(settings, s001):
    settings.CACHES = {key: value for key, value in settings.CACHES.items() if key != "console"}
    compute = counter()

    assert console_cached("figures", stores=[s001], compute=compute) == 1
    assert console_cached("figures", stores=[s001], compute=compute) == 2
