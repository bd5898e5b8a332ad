"""Upscale models (UPSCALE_MODEL): the ESRGAN-family RRDB network, its file layouts, tiled running.

docs/UPSCALE.md describes what loads and how it runs."""
