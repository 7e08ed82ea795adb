"""All of the demo data, stage by stage (`manage.py seed_demo`)."""

import datetime as dt
import time

from django.utils import timezone

from validation.demo.catalog import seed_catalog
from validation.demo.people import seed_people
from validation.demo.snippets import seed_snippets
from validation.demo.summary import DemoSummary, Log
from validation.demo.visits import seed_visits


def seed_demo(
    *, visits: int = 500, snippets: int = 60, seed: int = 7, now: dt.datetime | None = None, log: Log = print
) -> DemoSummary:
    """Create whatever part of the demo data is missing. Safe to run again."""
    started = time.monotonic()
    now = now or timezone.now()
    summary = DemoSummary()
    log("==> stores, cameras and products (with packshots)")
    stores = seed_catalog(log=log, summary=summary)
    log("==> demo people and the demo integration")
    seed_people(log=log, summary=summary)
    log(f"==> {snippets} snippets (synthetic H.264 shelf clips)")
    seed_snippets(stores=stores, count=snippets, seed=seed, now=now, log=log, summary=summary)
    log(f"==> {visits} visits over the last six hours")
    seed_visits(stores=stores, count=visits, n_snippets=snippets, seed=seed, now=now, log=log, summary=summary)
    summary.seconds = time.monotonic() - started
    return summary
