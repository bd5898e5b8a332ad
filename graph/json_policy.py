"""One JSON policy for what comes in and goes out: finite numbers only.

Python's json module reads and writes NaN and Infinity, which are not JSON: browsers
refuse them and SQLite's JSON functions fail on rows that hold them. Loom refuses them
on the way in (`loads_strict`, or `first_non_finite` to name where one is) and, should
a node produce one, writes null instead (`dumps_strict`), so nothing it stores or
sends can hold them.
"""
import json
import math


def _refuse_constant(name):
    raise ValueError(f"{name} is not allowed (numbers must be finite)")


def loads_strict(text):
    """json.loads that refuses NaN and Infinity (ValueError)."""
    return json.loads(text, parse_constant=_refuse_constant)


def finite(value):
    """A copy of value with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps_strict(value, **options):
    """json.dumps that never writes NaN or Infinity (they become null)."""
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:
        return json.dumps(finite(value), allow_nan=False, **options)


def first_non_finite(value, path=()):
    """The path (a tuple of keys and indexes) to the first NaN or infinite number, or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = first_non_finite(item, path + (key,))
        if found is not None:
            return found
    return None
