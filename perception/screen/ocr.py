"""All text on the screen with boxes: RapidOCR (PP-OCR det + rec ONNX models shipped in the wheel) on onnxruntime.

The default rec model of rapidocr 3.x (PP-OCRv6 small, lang "ch") reads Chinese and English in one pass, so mixed
screens need no language switch. The engine is built once per process, on first use (≈ 0.1 s; models ~30 MB).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

# Detection runs on the image scaled so its longer side is at most this; recognition reads crops of the full-size
# image. 1280 keeps 12 px HMI text detectable on 1920x1080 and costs nothing extra on 1280x800.
DET_LIMIT_SIDE_LEN = 1280
MIN_TEXT_SCORE = 0.5

_engine = None
_engine_lock = threading.Lock()


@dataclass(frozen=True)
class TextBox:
    text: str
    bbox: tuple[int, int, int, int]  # axis-aligned box around the detected quadrilateral, image pixels
    score: float
    slope: float = 0.0  # dy/dx of the quadrilateral's top edge: the text line's tilt in a photo

    @property
    def height(self) -> int:
        return self.bbox[3] - self.bbox[1]

    @property
    def centre_y(self) -> float:
        return (self.bbox[1] + self.bbox[3]) / 2


def ocr_engine():
    """The process-wide RapidOCR engine (lazy: importing this module loads no model)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as e:
                raise ImportError("the screen parser needs RapidOCR: pip install 'hmi-agent[ocr]'") from e

            _engine = RapidOCR(
                params={
                    "Global.log_level": "warning",
                    "Global.use_cls": False,  # screens are upright; the 180° classifier only costs time
                    "Global.text_score": MIN_TEXT_SCORE,
                    "Det.limit_type": "max",
                    "Det.limit_side_len": DET_LIMIT_SIDE_LEN,
                    # rec pads every crop to at least this width; the default 320 makes "ACK" cost as much as a
                    # sentence, and HMI screens are mostly short labels: 64 cuts recognition time 2-3x, same text
                    "Rec.rec_img_shape": [3, 48, 64],
                    # measured on this workload (single-thread CPU time): the allocator arena and small batches of
                    # similar-width crops do ~15% less work than rapidocr's defaults (no arena, batches of 6)
                    "Rec.rec_batch_num": 4,
                    "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
                }
            )
        return _engine


def read_text(rgb: np.ndarray) -> list[TextBox]:
    """Every text line RapidOCR finds in an RGB uint8 image, in its reading order."""
    result = ocr_engine()(rgb[:, :, ::-1].copy())  # rapidocr takes OpenCV's BGR order for arrays
    if result.boxes is None:
        return []
    height, width = rgb.shape[:2]
    boxes = []
    for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=False):
        xs, ys = quad[:, 0], quad[:, 1]
        bbox = (
            max(0, int(xs.min())),
            max(0, int(ys.min())),
            min(width, int(np.ceil(xs.max()))),
            min(height, int(np.ceil(ys.max()))),
        )
        (left_x, left_y), (right_x, right_y) = quad[0], quad[1]
        slope = float((right_y - left_y) / (right_x - left_x)) if right_x - left_x > 1 else 0.0
        if text.strip():
            boxes.append(TextBox(text.strip(), bbox, float(score), slope))
    return _split_vertical(boxes)


def _split_vertical(boxes: list[TextBox]) -> list[TextBox]:
    """The detector can join a column of identical short cells (中 / 中 / 中 in a priority column) into one tall box;
    HMIs have no vertical text, so such a box is cut back into one box per character, each on its own line."""
    if not boxes:
        return boxes
    typical = float(np.median([b.height for b in boxes]))
    result = []
    for box in boxes:
        x1, y1, x2, y2 = box.bbox
        chars = box.text.replace(" ", "")
        if box.height > 2.2 * typical and box.height > 1.5 * (x2 - x1) and len(chars) > 1:
            step = (y2 - y1) / len(chars)
            result += [
                TextBox(ch, (x1, round(y1 + i * step), x2, round(y1 + (i + 1) * step)), box.score, 0.0)
                for i, ch in enumerate(chars)
            ]
        else:
            result.append(box)
    return result
