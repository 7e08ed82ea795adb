import io

import av
import pytest

from annotator.synth import Clip, make_clip


def _decode(clip: Clip):
    with av.open(io.BytesIO(clip.data)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return container.format.name, stream.codec_context.name, frames


def test_default_clip_is_h264_yuv420p_mp4_with_the_index_first():
    clip = make_clip()
    format_name, codec, frames = _decode(clip)
    assert clip.container == "mp4"
    assert "mp4" in format_name
    assert codec == "h264"
    assert frames[0].format.name == "yuv420p"
    assert (frames[0].width, frames[0].height) == (320, 240)
    assert len(frames) == clip.frame_count == 30
    assert clip.data.find(b"moov") < clip.data.find(b"mdat")  # faststart


def test_vp9_clip_is_webm():
    clip = make_clip(codec="vp9", seconds=1, fps=10)
    format_name, codec, frames = _decode(clip)
    assert clip.container == "webm"
    assert "webm" in format_name
    assert codec == "vp9"
    assert len(frames) == clip.frame_count == 10


@pytest.mark.parametrize("scene", ["take", "put_back", "none"])
def test_every_scene_has_a_hand_and_a_product_inside_the_frame(scene):
    clip = make_clip(scene=scene, seed=4)
    labels = {box["label"] for box in clip.boxes}
    assert labels == {"hand", "product"}
    for box in clip.boxes:
        assert 0 <= box["frame"] < clip.frame_count
        assert box["x"] >= 0 and box["y"] >= 0 and box["w"] > 0 and box["h"] > 0
        assert box["x"] + box["w"] <= clip.width and box["y"] + box["h"] <= clip.height


def _product_y(clip: Clip, frame: int) -> int | None:
    found = [b for b in clip.boxes if b["frame"] == frame and b["label"] == "product"]
    return found[0]["y"] if found else None


def test_take_moves_the_product_off_the_shelf_and_none_leaves_it():
    take = make_clip(scene="take", seed=1)
    none = make_clip(scene="none", seed=1)
    last = take.frame_count - 1
    assert _product_y(take, 0) is not None
    assert _product_y(take, last) != _product_y(take, 0)
    assert _product_y(none, last) == _product_y(none, 0)


def test_put_back_ends_with_the_product_on_the_shelf():
    clip = make_clip(scene="put_back", seed=2)
    assert _product_y(clip, 0) is None  # still in the hand, below the frame
    assert _product_y(clip, clip.frame_count - 1) is not None


def test_seed_varies_the_clip_and_same_arguments_repeat_it():
    assert make_clip(seed=1).data != make_clip(seed=2).data
    assert make_clip(seed=3).boxes == make_clip(seed=3).boxes


def test_product_color_is_used_for_the_product():
    clip = make_clip(seconds=0.2, fps=5, product_color=(250, 0, 250))
    _, _, frames = _decode(clip)
    box = next(b for b in clip.boxes if b["frame"] == 0 and b["label"] == "product")
    r, g, b = frames[0].to_image().getpixel((box["x"] + 3, box["y"] + box["h"] - 4))
    assert r > 200 and g < 60 and b > 200


def test_odd_sizes_and_unknown_codecs_are_refused():
    with pytest.raises(ValueError):
        make_clip(width=321)
    with pytest.raises(ValueError):
        make_clip(codec="mpeg4")
    with pytest.raises(ValueError):
        make_clip(scene="dance")
