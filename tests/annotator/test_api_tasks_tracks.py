"""Snippet tracks (contract v1.1) through the submit endpoint: valid tracks are stored as
sent, bad ones answer 400 in the error shape naming the field, and nothing is stored."""

import json
import uuid

import pytest

from annotator.models import Annotation, Label
from tests.annotator.work import add_tasks, work_queue
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

NEXT = "/api/v1/tasks/next/"  # the tasks' clip: 320×240, 30 frames (tests/annotator/work.py)


@pytest.fixture
def task_id(s001, alice):
    add_tasks(work_queue(s001, alice), 1)
    return token_client(alice).post(NEXT, {}, format="json").json()["task"]["id"]


def key(frame, x=10, y=10, w=20, h=20, **extra) -> dict:
    return {"frame": frame, "x": x, "y": y, "w": w, "h": h, "outside": False} | extra


def submit(alice, task_id, result):
    body = {"result": result, "submission_id": str(uuid.uuid4())}
    url = f"/api/v1/tasks/{task_id}/submit/"
    return token_client(alice).post(url, json.dumps(body), content_type="application/json")


def test_tracks_are_stored_beside_the_boxes_and_in_the_training_label(alice, task_id):
    tracks = [
        {"label": "hand", "keyframes": [key(0), key(10, x=50), key(12, outside=True)]},
        {"label": "product", "keyframes": [key(29, x=300, y=220)]},
    ]
    boxes = [{"frame": 3, "label": "hand", "x": 1, "y": 2, "w": 3, "h": 4}]
    response = submit(alice, task_id, {"action": "none", "boxes": boxes, "tracks": tracks})
    assert response.status_code == 200, response.json()
    result = Annotation.objects.get().result
    assert result["tracks"] == tracks
    assert result["boxes"] == boxes
    assert Label.objects.get().human["tracks"] == tracks


def test_a_result_without_tracks_stays_as_it_was(alice, task_id):
    assert submit(alice, task_id, {"action": "none", "boxes": []}).status_code == 200
    assert Annotation.objects.get().result == {"action": "none", "sku": None, "boxes": []}


def test_outside_may_be_left_out_and_means_inside(alice, task_id):
    keyframe = {"frame": 4, "x": 0, "y": 0, "w": 320, "h": 240}
    result = {"action": "none", "tracks": [{"label": "hand", "keyframes": [keyframe]}]}
    assert submit(alice, task_id, result).status_code == 200
    assert Annotation.objects.get().result["tracks"][0]["keyframes"] == [keyframe | {"outside": False}]


@pytest.mark.parametrize(
    ("tracks", "field"),
    [
        ({"label": "hand"}, "tracks"),
        ([{"label": "hand", "keyframes": []}], "tracks[0].keyframes"),
        ([{"label": "hand"}], "tracks[0].keyframes"),
        ([{"label": "face", "keyframes": [key(0)]}], "tracks[0].label"),
        ([{"label": "hand", "keyframes": [key(0)], "id": 3}], "tracks[0].id"),
        ([{"label": "hand", "keyframes": [key(0), key(30)]}], "tracks[0].keyframes[1].frame"),
        ([{"label": "hand", "keyframes": [key(-1)]}], "tracks[0].keyframes[0].frame"),
        ([{"label": "hand", "keyframes": [key(0), key(5), key(3)]}], "tracks[0].keyframes[2].frame"),
        ([{"label": "hand", "keyframes": [key(0), key(5), key(5)]}], "tracks[0].keyframes[2].frame"),
        ([{"label": "hand", "keyframes": [key(0, x=310)]}], "tracks[0].keyframes[0].w"),
        ([{"label": "hand", "keyframes": [key(0, y=230, h=11)]}], "tracks[0].keyframes[0].h"),
        ([{"label": "hand", "keyframes": [key(0, w=0)]}], "tracks[0].keyframes[0].w"),
        ([{"label": "hand", "keyframes": [key(0, x=1.5)]}], "tracks[0].keyframes[0].x"),
        ([{"label": "hand", "keyframes": [key(0, outside="yes")]}], "tracks[0].keyframes[0].outside"),
        ([{"label": "hand", "keyframes": [key(0, score=1)]}], "tracks[0].keyframes[0].score"),
        ([{"label": "hand", "keyframes": [key(0)]}, {"label": "hand", "keyframes": ["x"]}], "tracks[1].keyframes[0]"),
    ],
)
def test_bad_tracks_are_400_in_the_error_shape_and_store_nothing(alice, task_id, tracks, field):
    response = submit(alice, task_id, {"action": "none", "boxes": [], "tracks": tracks})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"] in ("invalid", "required", "unknown_field")
    assert error["detail"]
    assert not Annotation.objects.exists()
    assert not Label.objects.exists()
