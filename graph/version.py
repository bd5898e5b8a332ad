"""Loom's version: reported by /system_stats and written into the workflows Loom saves."""
LOOM_VERSION = "0.1.0"
