"""The fast screen parser: OCR + OpenCV, no model. `parse_screen(image)` → numbered elements (alarm rows, banner,
priority badges, buttons, text) for set-of-marks hints and for cross-checking the model."""

from perception.screen.annotate import annotate
from perception.screen.model import Element, ScreenParse
from perception.screen.parser import parse_screen, parser_for
from perception.screen.profile import ProfileError, SiteProfile, load_profile

__all__ = [
    "Element",
    "ProfileError",
    "ScreenParse",
    "SiteProfile",
    "annotate",
    "load_profile",
    "parse_screen",
    "parser_for",
]
