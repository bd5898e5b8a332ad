"""Errors a person can cause while loading models (missing, corrupt, wrong kind)."""


class ModelError(Exception):
    """A model file could not be used; the message says which file and why."""
