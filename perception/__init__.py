"""Pixels to typed facts: screen capture, Qwen3-VL grounding, the fast screen parser. Imports no other package of ours."""
