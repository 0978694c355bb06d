"""The Qwen3-VL processor, with an image-only stand-in for machines without torchvision.

transformers' `Qwen3VLProcessor` always builds a video processor, which needs torchvision; an HMI station only sends
still images, so when that fails we assemble the same pipeline from the tokenizer and the (PIL) image processor.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

IMAGE_TOKEN = "<|image_pad|>"
VIDEO_TOKEN = "<|video_pad|>"


def load_processor(model: str | Path, *, local_files_only: bool = False):
    """The stock AutoProcessor when it loads, else `ImageOnlyProcessor` built from the same checkpoint files."""
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(str(model), local_files_only=local_files_only)
    except (ImportError, AttributeError, TypeError, ValueError) as e:  # torchvision missing, seen as any of these
        logger.info("stock processor unavailable (%s: %s); using the image-only processor", type(e).__name__, e)
        return ImageOnlyProcessor.from_pretrained(model, local_files_only=local_files_only)


def _read_chat_template(model: str | Path, local_files_only: bool) -> str | None:
    """Checkpoints keep the template in chat_template.jinja (new) or chat_template.json (older Qwen releases)."""
    from transformers.utils import cached_file

    for name in ("chat_template.jinja", "chat_template.json"):
        path = cached_file(
            str(model),
            name,
            local_files_only=local_files_only,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
        )
        if path:
            text = Path(path).read_text(encoding="utf-8")
            return json.loads(text)["chat_template"] if name.endswith(".json") else text
    return None


class ImageOnlyProcessor:
    """Same calls and outputs as Qwen3VLProcessor for text + images: chat template, `<|image_pad|>` expanded to one
    token per merged patch ((t*h*w) / merge_size**2 per image), `mm_token_type_ids` for the model's M-RoPE."""

    def __init__(self, tokenizer, image_processor, chat_template: str | None = None):
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.chat_template = chat_template or tokenizer.chat_template
        if not self.chat_template:
            raise ValueError("the checkpoint has no chat template (chat_template.jinja/.json or in tokenizer_config)")
        self.image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
        self.video_token_id = tokenizer.convert_tokens_to_ids(VIDEO_TOKEN)

    @classmethod
    def from_pretrained(cls, model: str | Path, *, local_files_only: bool = False) -> ImageOnlyProcessor:
        from transformers import AutoImageProcessor, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model), local_files_only=local_files_only)
        image_processor = AutoImageProcessor.from_pretrained(str(model), local_files_only=local_files_only)
        return cls(tokenizer, image_processor, _read_chat_template(model, local_files_only))

    def apply_chat_template(self, messages: list[dict], tools: list[dict] | None = None, **kwargs) -> str:
        kwargs.setdefault("tokenize", False)
        return self.tokenizer.apply_chat_template(messages, tools=tools, chat_template=self.chat_template, **kwargs)

    def __call__(self, text: list[str], images=None, *, size: dict | None = None, return_tensors: str = "pt"):
        from transformers import BatchFeature

        image_inputs = {}
        if images:
            image_kwargs = {"size": size} if size else {}
            image_inputs = dict(self.image_processor(images=images, return_tensors="pt", **image_kwargs))
            text = self._expand_image_tokens(text, image_inputs["image_grid_thw"])
        text_inputs = self.tokenizer(text, return_tensors="pt", padding=True)
        input_ids = text_inputs["input_ids"]
        mm_token_type_ids = (input_ids == self.image_token_id).long() + 2 * (input_ids == self.video_token_id).long()
        data = {**text_inputs, "mm_token_type_ids": mm_token_type_ids, **image_inputs}
        return BatchFeature(data, tensor_type=return_tensors)

    def _expand_image_tokens(self, text: list[str], grid_thw) -> list[str]:
        merge_area = self.image_processor.merge_size**2
        counts = iter(int(grid.prod()) // merge_area for grid in grid_thw)
        expanded = []
        for sample in text:
            parts = sample.split(IMAGE_TOKEN)
            pieces = [parts[0]]
            for part in parts[1:]:
                try:
                    pieces.append(IMAGE_TOKEN * next(counts) + part)
                except StopIteration:
                    raise ValueError("the prompt has more image placeholders than images were given") from None
            expanded.append("".join(pieces))
        if next(counts, None) is not None:
            raise ValueError("more images were given than the prompt has image placeholders")
        return expanded

    def batch_decode(self, *args, **kwargs):
        return self.tokenizer.batch_decode(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)
