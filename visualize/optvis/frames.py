"""Frames of an optimization: a strip of snapshots and an animated GIF (Pillow).

The loop keeps a picture (H, W, 3) in [0, 1] every N steps when asked (``frames_every``);
:func:`attachments` turns that list into the two files a method returns beside its picture.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from visualize import imaging


def strip(frames, labels=None, min_side: int = 64) -> np.ndarray:
    """The frames side by side, each upscaled to at least ``min_side`` pixels, with an
    optional label (e.g. "step 40") above each."""
    if not frames:
        raise ValueError("strip: no frames were recorded (pass frames_every > 0 to the loop)")
    tiles = [imaging.upscale(f, min_side) for f in frames]
    if labels is not None:
        tiles = [imaging.label_above(t, text) for t, text in zip(tiles, labels)]
    return imaging.hstack(tiles, gap=4)


def gif(frames, min_side: int = 128, duration_ms: int = 120) -> bytes:
    """An animated GIF (looping, the last frame held three times as long) of the frames."""
    if not frames:
        raise ValueError("gif: no frames were recorded (pass frames_every > 0 to the loop)")
    images = [Image.fromarray(imaging.to_uint8(imaging.upscale(f, min_side))) for f in frames]
    durations = [duration_ms] * (len(images) - 1) + [3 * duration_ms]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return out.getvalue()


def attachments(rendered, prefix: str = "frames") -> dict:
    """{"<prefix>.png": the strip, "<prefix>.gif": the animation} of a
    :class:`~visualize.optvis.render.Rendered` run's frames ({} when none were kept)."""
    if not rendered.frames:
        return {}
    picture = strip(rendered.frames, [f"step {s}" for s in rendered.frame_steps])
    out = io.BytesIO()
    Image.fromarray(imaging.to_uint8(picture)).save(out, format="PNG")
    return {f"{prefix}.png": out.getvalue(), f"{prefix}.gif": gif(rendered.frames)}
