"""Shopper privacy end to end: retention (`purge_media`), erasure (`POST /api/v1/shoppers/erase/`)
and who watched what (`GET /api/v1/media-views/`), with a frozen dataset that stays intact."""

import datetime as dt
import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from annotator.models import Label, MediaView, Snippet
from annotator.services.datasets import dataset_build, dataset_create
from annotator.services.labels import cursor_encode as labels_cursor
from catalog.models import ControlAction
from tests.annotator.labelling import snippet_label
from tests.annotator.screens import clip_snippet
from tests.conftest import session_client, token_client
from tests.validation.bodies import event_body, visit_body
from tests.validation.review import validate, verdicts
from validation import api_privacy
from validation.models import Dispute, Receipt, Visit
from validation.services import visit_ingest

pytestmark = pytest.mark.django_db
SHOPPER = "anon-erase-me-5150"
ERASE = "/api/v1/shoppers/erase/"
VIEWS = "/api/v1/media-views/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def validated_visit(store, associate, *, external_id: str, shopper: str = SHOPPER):
    """A visit with one event on a real stored snippet, validated by `associate` (receipt issued)."""
    snippet = clip_snippet(store, f"clip-{external_id}", reuse_redaction=True).snippet
    events = [event_body(1, confidence=0.5, snippet=snippet.external_id)]
    result = visit_ingest(store=store, payload=visit_body(store.code, events=events, shopper=shopper))
    validate(associate, result.task, verdicts(result.visit))
    result.visit.refresh_from_db()
    assert result.visit.status == Visit.Status.VALIDATED
    return result.visit, snippet


def files_of(snippet: Snippet) -> list[str]:
    return [snippet.file.name, snippet.poster.name, snippet.thumbnail.name]


def video_url(snippet: Snippet) -> str:
    return f"/media/snippets/{snippet.pk}/video"


def frozen_coco(store, snippet, associate, supervisor) -> tuple:
    """A COCO dataset version holding a keyframe of `snippet`: (dataset, sha256 of its download)."""
    snippet_label(
        store=store,
        associate=associate,
        snippet=snippet,
        boxes=[{"frame": 0, "label": "hand", "x": 4, "y": 4, "w": 30, "h": 30}],
    )
    dataset = dataset_create(name="frozen", format="coco", filters={"store": store.code}, by=supervisor)
    dataset = dataset_build(dataset_id=dataset.pk)
    assert dataset.status == "ready" and dataset.items >= 1
    return dataset, download_sha(supervisor, dataset)


def download_sha(user, dataset) -> str:
    response = session_client(user).get(f"/api/v1/datasets/{dataset.pk}/download/")
    assert response.status_code == 200
    return hashlib.sha256(b"".join(response.streaming_content)).hexdigest()


@pytest.fixture
def purge(django_capture_on_commit_callbacks):
    """Run `purge_media` as of `now`; files go after the commit, so the callbacks run too."""

    def run(now: dt.datetime, *extra) -> str:
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("purge_media", "--now", now.isoformat(), *extra, stdout=out)
        return out.getvalue()

    return run


# Retention -------------------------------------------------------------------------------


def test_purge_media_deletes_the_files_after_the_retention_and_the_urls_answer_410(s001, alice, carol, purge):
    visit, snippet = validated_visit(s001, alice, external_id="old")
    dataset, sha = frozen_coco(s001, snippet, alice, carol)
    names = files_of(snippet)
    assert all(default_storage.exists(name) for name in names)
    issued = Receipt.objects.get(visit=visit).issued_at

    assert "purged 0 snippet(s)" in purge(issued + dt.timedelta(days=29))
    dry = purge(issued + dt.timedelta(days=31), "--dry-run")
    assert "would purge 1 snippet(s)" in dry and "clip-old" in dry
    assert Snippet.objects.get(pk=snippet.pk).media_purged_at is None

    out = purge(issued + dt.timedelta(days=31))

    assert "S001: purged 1 snippet(s): clip-old" in out
    snippet.refresh_from_db()
    assert snippet.media_purged_at is not None and not any(files_of(snippet))
    assert not any(default_storage.exists(name) for name in names)
    for what in ("video", "poster", "thumbnail"):
        response = session_client(carol).get(f"/media/snippets/{snippet.pk}/{what}")
        assert response.status_code == 410
        assert response.json()["error"]["code"] == "media_purged"
    assert token_client(carol).get(f"/api/v1/snippets/{snippet.pk}/").json()["media_purged"] is True
    # The frozen version keeps its keyframes: the same bytes as before the purge.
    assert download_sha(carol, dataset) == sha
    action = ControlAction.objects.get(action="media_purged")
    assert (action.store, action.new) == (s001, {"snippets": 1, "retention_days": 30})
    panel = session_client(carol).get("/supervise/panel/", {"name": "privacy"})
    assert panel.status_code == 200 and b"retention (30 days)" in panel.content
    assert "purged 0 snippet(s)" in purge(issued + dt.timedelta(days=40))


def test_the_store_policy_sets_the_retention(s001, alice, purge):
    visit, _ = validated_visit(s001, alice, external_id="short")
    s001.media_retention_days = 2
    s001.save(update_fields=["media_retention_days"])
    issued = Receipt.objects.get(visit=visit).issued_at
    assert "purged 0" in purge(issued + dt.timedelta(days=1))
    assert "purged 1" in purge(issued + dt.timedelta(days=3))


def test_an_open_dispute_or_an_unfinished_visit_keeps_the_media(s001, alice, carol, purge):
    disputed, _ = validated_visit(s001, alice, external_id="disputed")
    Dispute.objects.create(visit=disputed, reason="charged twice")
    snippet = clip_snippet(s001, "clip-pending", reuse_redaction=True).snippet
    visit_ingest(
        store=s001,
        payload=visit_body("S001", events=[event_body(1, confidence=0.4, snippet=snippet.external_id)]),
    )
    assert "purged 0 snippet(s)" in purge(timezone.now() + dt.timedelta(days=365))
    assert Snippet.objects.filter(media_purged_at__isnull=False).count() == 0


def test_the_clock_runs_from_the_latest_receipt(s001, alice, purge):
    visit, _ = validated_visit(s001, alice, external_id="corrected")
    receipt = Receipt.objects.get(visit=visit)
    issued = receipt.issued_at
    # As if a corrected receipt had followed 20 days later.
    Receipt.objects.filter(pk=receipt.pk).update(issued_at=issued + dt.timedelta(days=20))
    assert "purged 0" in purge(issued + dt.timedelta(days=31))
    assert "purged 1" in purge(issued + dt.timedelta(days=51))


def test_purge_media_refuses_a_time_without_offset(s001):
    with pytest.raises(Exception, match="UTC offset"):
        call_command("purge_media", "--now", "2026-12-01T00:00:00")


# Erasure ---------------------------------------------------------------------------------


def test_erasure_replaces_the_token_purges_the_snippets_and_takes_labels_out_of_training_data(
    s001, alice, carol, s001_integration, django_capture_on_commit_callbacks
):
    visit, snippet = validated_visit(s001, alice, external_id="erased")
    _, other_snippet = validated_visit(s001, alice, external_id="kept", shopper="anon-someone-else")
    dataset, sha = frozen_coco(s001, snippet, alice, carol)
    receipt = Receipt.objects.get(visit=visit)
    client = token_client(s001_integration)
    feed_before = client.get("/api/v1/labels/", {"store": "S001"}).json()["results"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ERASE, {"store": "S001", "shopper": SHOPPER}, format="json")

    assert response.status_code == 202, response.content
    assert response.json() == {"visits": 1}
    visit.refresh_from_db()
    assert visit.shopper != SHOPPER and not Visit.objects.filter(shopper=SHOPPER).exists()
    assert Receipt.objects.filter(pk=receipt.pk).exists()
    names = files_of(snippet)
    snippet.refresh_from_db()
    other_snippet.refresh_from_db()
    assert snippet.media_purged_at is not None and other_snippet.media_purged_at is None
    assert not any(default_storage.exists(name) for name in names)
    erased = Label.objects.filter(erased_at__isnull=False)
    event_ids = {str(e.pk) for e in visit.events.all()}
    assert erased.exists() and all(
        str(label.event_id) in event_ids or label.snippet_id == snippet.pk for label in erased
    )
    feed_after = client.get("/api/v1/labels/", {"store": "S001"}).json()["results"]
    assert len(feed_after) == len(feed_before) - erased.count()
    assert not {str(label.id) for label in erased} & {item["id"] for item in feed_after}
    fresh = dataset_build(
        dataset_id=dataset_create(name="after", format="jsonl", filters={"store": "S001"}, by=carol).pk
    )
    with default_storage.open(fresh.file.name, "rb") as f:
        jsonl = f.read()
    assert all(str(label.id).encode() not in jsonl for label in erased)
    assert download_sha(carol, dataset) == sha
    action = ControlAction.objects.get(action="shopper_erased")
    assert action.new["visits"] == 1 and SHOPPER not in str(action.new) + action.target + action.comment
    # Again: nothing left of that shopper.
    assert client.post(ERASE, {"store": "S001", "shopper": SHOPPER}, format="json").json() == {"visits": 0}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"store": "S001"}, "shopper"), ({"shopper": SHOPPER}, "store"), ({"store": "S001", "shopper": ""}, "shopper")],
)
def test_erasure_refuses_bad_input_with_the_field(s001, s001_integration, body, field):
    response = token_client(s001_integration).post(ERASE, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_erasure_of_another_or_unknown_store_is_404_and_other_roles_get_403(s001, s002, alice, carol, s002_integration):
    visit, _ = validated_visit(s001, alice, external_id="safe")
    body = {"store": "S001", "shopper": SHOPPER}
    assert token_client(s002_integration).post(ERASE, body, format="json").status_code == 404
    assert token_client(s002_integration).post(ERASE, {**body, "store": "NOPE"}, format="json").status_code == 404
    assert token_client(carol).post(ERASE, body, format="json").status_code == 403
    assert token_client(alice).post(ERASE, body, format="json").status_code == 403
    assert Client().post(ERASE, body, content_type="application/json").status_code in (401, 403)
    visit.refresh_from_db()
    assert visit.shopper == SHOPPER


# Who watched what --------------------------------------------------------------------------


def test_media_views_of_a_visit_are_listed_for_its_supervisors_page_by_page(s001, alice, carol, sam, monkeypatch):
    visit, snippet = validated_visit(s001, alice, external_id="watched")
    for _ in range(3):
        assert session_client(carol).get(video_url(snippet)).status_code == 200
    monkeypatch.setattr(api_privacy, "PAGE_SIZE", 2)
    client = session_client(carol)

    first = client.get(VIEWS, {"visit": str(visit.pk)})
    assert first.status_code == 200, first.content
    page = first.json()
    assert [row["user"] for row in page["results"]] == ["carol", "carol"]
    assert page["results"][0]["what"] == "video" and page["results"][0]["snippet"] == str(snippet.pk)
    second = client.get(VIEWS, {"visit": str(visit.pk), "cursor": page["next"]}).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert MediaView.objects.count() == 3

    bad = client.get(VIEWS, {"visit": str(visit.pk), "cursor": "forged"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "cursor"
    # Another list's cursor (the labels feed's, signed with its own salt) is not this list's.
    feeds = client.get(VIEWS, {"visit": str(visit.pk), "cursor": labels_cursor(1)})
    assert feeds.status_code == 400 and feeds.json()["error"]["code"] == "invalid_cursor"
    assert client.get(VIEWS).json()["error"]["field"] == "visit"
    assert session_client(alice).get(VIEWS, {"visit": str(visit.pk)}).status_code == 403
    assert session_client(sam).get(VIEWS, {"visit": str(visit.pk)}).status_code in (403, 404)


def test_the_annotation_page_shows_who_watched_the_tasks_media(s001, alice, carol):
    visit, snippet = validated_visit(s001, alice, external_id="page")
    session_client(carol).get(video_url(snippet))
    annotation = Label.objects.filter(event_id__in=visit.events.values("pk")).first().annotation
    response = session_client(carol).get(f"/supervise/annotations/{annotation.pk}/")
    assert response.status_code == 200
    assert b'id="media-views"' in response.content and b"clip-page" in response.content
