"""The fast screen parser: OCR + OpenCV, no model. `parse_screen(image)` → numbered elements (alarm rows, banner,
priority badges, buttons, text) for set-of-marks hints and for cross-checking the model."""

from perception.screen.annotate import annotate
from perception.screen.model import Element, ScreenParse
from perception.screen.parser import parse_screen

__all__ = ["Element", "ScreenParse", "annotate", "parse_screen"]
