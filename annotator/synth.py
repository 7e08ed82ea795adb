"""Synthetic but realistic shelf clips, for tests, demo data and benchmarks.

A clip shows a shelf of products seen from above the aisle; a hand (with its sleeve) reaches
in from the bottom edge. Scenes: "take" (the hand grabs a product and carries it out),
"put_back" (the hand brings a product in and leaves it in an empty facing) and "none" (the
hand reaches and leaves empty). Frames are drawn with Pillow and encoded with PyAV, so the
files are real H.264/MP4 or VP9/WebM that every decoder accepts. `Clip.boxes` is the ground
truth per frame, in clip pixels, in the shape of an annotation's boxes.
"""

import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import av
from PIL import Image, ImageDraw

SCENES = ("take", "put_back", "none")
_CODECS = {
    "h264": ("mp4", "libx264", {"preset": "ultrafast", "crf": "26"}),
    "vp9": ("webm", "libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "crf": "40", "b": "0"}),
}
_SKIN = [(224, 172, 105), (198, 134, 66), (141, 85, 36), (241, 194, 125), (255, 219, 172)]
_SLEEVE = [(40, 60, 120), (120, 30, 30), (50, 50, 50), (30, 100, 60), (200, 200, 190)]


@dataclass(frozen=True)
class Clip:
    data: bytes
    container: str  # "mp4" or "webm"
    width: int
    height: int
    fps: int
    frame_count: int
    boxes: list[dict] = field(default_factory=list)
    scene: str = "take"

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    def clipped(self, width: int, height: int) -> dict | None:
        x0, y0 = max(0, round(self.x)), max(0, round(self.y))
        x1, y1 = min(width, round(self.x + self.w)), min(height, round(self.y + self.h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        return {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0}


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * max(0.0, min(1.0, t))


def _ease(t: float) -> float:
    t = max(0.0, min(1.0, t))
    return t * t * (3 - 2 * t)


def _shelf(width: int, height: int, rng: random.Random, product_color):
    """Draw the static shelf without the target product; return (image, its box, its colour)."""
    wall = tuple(rng.randint(170, 215) for _ in range(3))
    image = Image.new("RGB", (width, height), wall)
    draw = ImageDraw.Draw(image)
    rows = 2
    shelf_h = height * 0.62 / rows
    top = height * 0.06
    facings = rng.randint(4, 6)
    facing_w = width * 0.9 / facings
    left = width * 0.05
    target_row, target_col = rng.randrange(rows), rng.randrange(1, facings - 1)
    target_box, target_color = None, None
    for row in range(rows):
        base = top + (row + 1) * shelf_h
        draw.rectangle([0, base, width, base + height * 0.025], fill=(110, 85, 60))
        for col in range(facings):
            pw = facing_w * rng.uniform(0.55, 0.75)
            ph = shelf_h * rng.uniform(0.55, 0.8)
            px = left + col * facing_w + (facing_w - pw) / 2
            py = base - ph
            color = tuple(rng.randint(30, 235) for _ in range(3))
            if (row, col) == (target_row, target_col):
                target_box = _Box(px, py, pw, ph)
                target_color = tuple(product_color) if product_color else color
                continue
            draw.rectangle([px, py, px + pw, py + ph], fill=color, outline=(20, 20, 20))
            draw.rectangle([px + pw * 0.15, py + ph * 0.3, px + pw * 0.85, py + ph * 0.5], fill=(245, 245, 240))
    draw.rectangle([0, top + rows * shelf_h + height * 0.025, width, height], fill=(90, 90, 95))
    return image, target_box, target_color


def _frames(*, n: int, width: int, height: int, scene: str, rng: random.Random, product_color, boxes: list[dict]):
    """Yield the frames as images; append the ground-truth boxes to `boxes`."""
    background, target, target_color = _shelf(width, height, rng, product_color)
    skin, sleeve = rng.choice(_SKIN), rng.choice(_SLEEVE)
    hand_w, hand_h = target.w * 1.1, target.h * 0.55
    # The hand's centre at rest (outside, below the frame) and at the product.
    start_x = _lerp(target.x, width / 2, 0.5) + rng.uniform(-width * 0.1, width * 0.1)
    rest = (start_x, height + hand_h + target.h)  # wholly below the frame, product included
    grab = (target.x + target.w / 2, target.y + target.h * 0.6)
    t_in, t_reach, t_hold, t_out = [v + rng.uniform(-0.04, 0.04) for v in (0.1, 0.42, 0.56, 0.92)]
    for i in range(n):
        t = i / max(1, n - 1)
        if t < t_in or t > t_out:
            hx, hy, visible = *rest, False
        elif t < t_reach:
            k = _ease((t - t_in) / (t_reach - t_in))
            hx, hy, visible = _lerp(rest[0], grab[0], k), _lerp(rest[1], grab[1], k), True
        elif t < t_hold:
            hx, hy, visible = *grab, True
        else:
            k = _ease((t - t_hold) / (t_out - t_hold))
            hx, hy, visible = _lerp(grab[0], rest[0], k), _lerp(grab[1], rest[1], k), True
        if scene == "take":
            carrying = t >= t_hold
        elif scene == "put_back":
            carrying = t < t_reach
        else:
            carrying = False
        frame = background.copy()
        draw = ImageDraw.Draw(frame)
        product = _Box(hx - target.w / 2, hy - target.h * 0.6, target.w, target.h) if carrying else target
        outline = (20, 20, 20)
        draw.rectangle(
            [product.x, product.y, product.x + product.w, product.y + product.h], fill=target_color, outline=outline
        )
        hand = _Box(hx - hand_w / 2, hy - hand_h / 2, hand_w, hand_h)
        if visible:
            arm_w = hand_w * 0.7
            sleeve_shape = [(hx - arm_w / 2, hy), (hx + arm_w / 2, hy)]
            sleeve_shape += [(rest[0] + arm_w, height + 5), (rest[0] - arm_w, height + 5)]
            draw.polygon(sleeve_shape, fill=sleeve)
            draw.ellipse([hand.x, hand.y, hand.x + hand.w, hand.y + hand.h], fill=skin, outline=(60, 40, 30))
        for label, box in (("hand", hand if visible else None), ("product", product)):
            if box is None:
                continue
            clipped = box.clipped(width, height)
            if clipped is not None:
                boxes.append({"frame": i, "label": label, **clipped})
        yield frame


def make_clip(
    *,
    seconds: float = 2.0,
    fps: int = 15,
    width: int = 320,
    height: int = 240,
    codec: str = "h264",
    scene: str = "take",
    seed: int = 0,
    product_color: tuple[int, int, int] | None = None,
) -> Clip:
    """Encode a synthetic shelf clip; deterministic for the same arguments."""
    if codec not in _CODECS:
        raise ValueError(f"codec must be one of {sorted(_CODECS)}")
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}")
    if width % 2 or height % 2 or width < 32 or height < 32:
        raise ValueError("width and height must be even and at least 32")
    container_name, encoder, options = _CODECS[codec]
    n = max(1, round(seconds * fps))
    rng = random.Random(f"{seed}:{scene}:{width}x{height}")
    muxer_options = {"movflags": "+faststart"} if container_name == "mp4" else {}
    boxes: list[dict] = []
    # faststart rewrites the file to put the index first, which needs a real file.
    with (
        tempfile.TemporaryDirectory() as tmp,
        av.open(
            str(Path(tmp) / f"clip.{container_name}"), mode="w", format=container_name, options=muxer_options
        ) as output,
    ):
        stream = output.add_stream(encoder, rate=fps, options=dict(options))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = fps
        frames = _frames(
            n=n, width=width, height=height, scene=scene, rng=rng, product_color=product_color, boxes=boxes
        )
        for image in frames:
            frame = av.VideoFrame.from_image(image).reformat(format="yuv420p")
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
        output.close()
        data = Path(output.name).read_bytes()
    return Clip(
        data=data,
        container=container_name,
        width=width,
        height=height,
        fps=fps,
        frame_count=n,
        boxes=boxes,
        scene=scene,
    )
