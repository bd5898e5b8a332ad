"""@tooltips({...}): add tooltips to a node's inputs without repeating its INPUT_TYPES.

Keys are input names; a key ending in "*" covers every input starting with the rest
(autogrow slots such as "images.image*"). Inputs that already have a tooltip keep it.
"""
from __future__ import annotations


def tooltips(tips: dict):
    def wrap(cls):
        original = cls.INPUT_TYPES

        def INPUT_TYPES(inner_cls):
            types = original()
            for section in ("required", "optional"):
                for name, spec in list((types.get(section) or {}).items()):
                    tip = _tip_for(name, tips)
                    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
                    if tip and "tooltip" not in options:
                        types[section][name] = (spec[0], {**options, "tooltip": tip})
            return types

        cls.INPUT_TYPES = classmethod(INPUT_TYPES)
        return cls
    return wrap


def _tip_for(name, tips):
    if name in tips:
        return tips[name]
    for key, tip in tips.items():
        if key.endswith("*") and name.startswith(key[:-1]):
            return tip
    return None
