"""String utility nodes with ComfyUI's schemas: replace, substring, length, compare,
trim, case, regular expressions and JSON lookup.

Where ComfyUI silently returns False or "" for a broken regular expression, these
raise ValueError naming `regex_pattern`, so a typo shows up as an error on the node.
"""
from __future__ import annotations

import json
import re

from nodes._tooltips import tooltips

CATEGORY = "utils/string"
CASE_MODES = ["UPPERCASE", "lowercase", "Capitalize", "Title Case"]
TRIM_MODES = ["Both", "Left", "Right"]
COMPARE_MODES = ["Starts With", "Ends With", "Equal"]
EXTRACT_MODES = ["First Match", "All Matches", "First Group", "All Groups"]


def _text(name, value):
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text, got {type(value).__name__}")
    return value


def _choice(name, value, options):
    if value not in options:
        raise ValueError(f"{name}: expected one of {options}, got {value!r}")
    return value


def _multiline(tooltip=None, **extra):
    options = {"multiline": True, **extra}
    if tooltip:
        options["tooltip"] = tooltip
    return ("STRING", options)


def _compile(pattern, case_insensitive, multiline, dotall):
    flags = (re.IGNORECASE if case_insensitive else 0) | (re.MULTILINE if multiline else 0)
    flags |= re.DOTALL if dotall else 0
    try:
        return re.compile(_text("regex_pattern", pattern), flags)
    except re.error as error:
        raise ValueError(f"regex_pattern: not a valid regular expression ({error})") from None


_REGEX_FLAGS = {
    "case_insensitive": ("BOOLEAN", {"default": True}),
    "multiline": ("BOOLEAN", {"default": False, "tooltip": "^ and $ match at every line."}),
    "dotall": ("BOOLEAN", {"default": False, "tooltip": ". also matches a newline."}),
}


class _StringNode:
    RETURN_TYPES = ("STRING",)
    FUNCTION = "execute"
    CATEGORY = CATEGORY


@tooltips({
    "string": "The text to change."})
class StringReplace(_StringNode):
    DESCRIPTION = "Replaces every occurrence of `find` with `replace` (plain text, not a pattern)."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline(), "find": _multiline("The text to look for."),
                             "replace": _multiline("The text to put in its place.")}}

    def execute(self, string, find, replace):
        return (_text("string", string).replace(_text("find", find), _text("replace", replace)),)


@tooltips({
    "string": "The text to cut.",
    "start": "Position of the first character (0 = first, negative counts from the end).",
    "end": "Position after the last character (negative counts from the end)."})
class StringSubstring(_StringNode):
    DESCRIPTION = "The characters from `start` up to (not including) `end`; negative positions count from the end."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline(), "start": ("INT", {}), "end": ("INT", {})}}

    def execute(self, string, start, end):
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name}: expected a whole number, got {type(value).__name__}")
        return (_text("string", string)[start:end],)


@tooltips({
    "string": "The text to measure."})
class StringLength:
    DESCRIPTION = "The number of characters in the text."
    RETURN_TYPES = ("INT",)
    RETURN_NAMES = ("length",)
    FUNCTION = "execute"
    CATEGORY = CATEGORY

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline()}}

    def execute(self, string):
        return (len(_text("string", string)),)


@tooltips({
    "string": "The text to change.",
    "mode": "The case to convert to."})
class CaseConverter(_StringNode):
    DESCRIPTION = "Changes the text to upper case, lower case, first letter capital, or title case."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline(), "mode": (CASE_MODES,)}}

    def execute(self, string, mode):
        convert = {"UPPERCASE": str.upper, "lowercase": str.lower,
                   "Capitalize": str.capitalize, "Title Case": str.title}
        return (convert[_choice("mode", mode, CASE_MODES)](_text("string", string)),)


@tooltips({
    "string": "The text to trim.",
    "mode": "Which ends to trim."})
class StringTrim(_StringNode):
    DESCRIPTION = "Removes white space from both ends, the start (Left) or the end (Right)."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline(), "mode": (TRIM_MODES,)}}

    def execute(self, string, mode):
        trim = {"Both": str.strip, "Left": str.lstrip, "Right": str.rstrip}
        return (trim[_choice("mode", mode, TRIM_MODES)](_text("string", string)),)


@tooltips({
    "string": "The text to search.",
    "substring": "The text to look for.",
    "case_sensitive": "Whether upper and lower case differ."})
class StringContains:
    DESCRIPTION = "Whether `substring` occurs in the text."
    RETURN_TYPES = ("BOOLEAN",)
    RETURN_NAMES = ("contains",)
    FUNCTION = "execute"
    CATEGORY = CATEGORY

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline(), "substring": _multiline(),
                             "case_sensitive": ("BOOLEAN", {"default": True})}}

    def execute(self, string, substring, case_sensitive):
        string, substring = _text("string", string), _text("substring", substring)
        if not case_sensitive:
            string, substring = string.lower(), substring.lower()
        return (substring in string,)


@tooltips({
    "string_a": "The text to test.",
    "string_b": "The text to compare with.",
    "mode": "The comparison.",
    "case_sensitive": "Whether upper and lower case differ."})
class StringCompare:
    DESCRIPTION = "Whether string_a starts with, ends with, or equals string_b."
    RETURN_TYPES = ("BOOLEAN",)
    FUNCTION = "execute"
    CATEGORY = CATEGORY

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string_a": _multiline(), "string_b": _multiline(),
                             "mode": (COMPARE_MODES,), "case_sensitive": ("BOOLEAN", {"default": True})}}

    def execute(self, string_a, string_b, mode, case_sensitive):
        a, b = _text("string_a", string_a), _text("string_b", string_b)
        if not case_sensitive:
            a, b = a.lower(), b.lower()
        test = {"Starts With": str.startswith, "Ends With": str.endswith, "Equal": str.__eq__}
        return (test[_choice("mode", mode, COMPARE_MODES)](a, b),)


@tooltips({
    "string": "The text to search.",
    "regex_pattern": "A Python regular expression.",
    "case_insensitive": "Ignore upper/lower case."})
class RegexMatch:
    DESCRIPTION = "Whether the regular expression matches anywhere in the text."
    RETURN_TYPES = ("BOOLEAN",)
    RETURN_NAMES = ("matches",)
    FUNCTION = "execute"
    CATEGORY = CATEGORY

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline(), "regex_pattern": _multiline(), **_REGEX_FLAGS}}

    def execute(self, string, regex_pattern, case_insensitive, multiline, dotall):
        pattern = _compile(regex_pattern, case_insensitive, multiline, dotall)
        return (pattern.search(_text("string", string)) is not None,)


@tooltips({
    "string": "The text to search.",
    "regex_pattern": "A Python regular expression.",
    "mode": "What to return.",
    "case_insensitive": "Ignore upper/lower case.",
    "group_index": "The group to return in the group modes (0 = whole match)."})
class RegexExtract(_StringNode):
    DESCRIPTION = ("Text matched by a regular expression: the first match, all matches, or one group "
                   "of the first or of every match (several results are joined by new lines).")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline(), "regex_pattern": _multiline(),
                             "mode": (EXTRACT_MODES,), **_REGEX_FLAGS,
                             "group_index": ("INT", {"default": 1, "min": 0, "max": 100})}}

    def execute(self, string, regex_pattern, mode, case_insensitive, multiline, dotall, group_index):
        pattern = _compile(regex_pattern, case_insensitive, multiline, dotall)
        string = _text("string", string)
        _choice("mode", mode, EXTRACT_MODES)
        if isinstance(group_index, bool) or not isinstance(group_index, int) or not 0 <= group_index <= 100:
            raise ValueError(f"group_index: expected a whole number from 0 to 100, got {group_index!r}")
        matches = list(pattern.finditer(string))
        if mode == "First Match":
            return (matches[0].group(0) if matches else "",)
        if mode == "All Matches":
            # as re.findall does for patterns with groups: the first group, else the whole match
            return ("\n".join(m.group(1) if pattern.groups else m.group(0) for m in matches),)
        if pattern.groups < group_index:
            return ("",)
        if mode == "First Group":
            return ((matches[0].group(group_index) or "") if matches else "",)
        return ("\n".join(m.group(group_index) or "" for m in matches),)


@tooltips({
    "string": "The text to change.",
    "regex_pattern": "A Python regular expression.",
    "replace": "The replacement; \\1 or \\g<name> insert groups.",
    "case_insensitive": "Ignore upper/lower case."})
class RegexReplace(_StringNode):
    DESCRIPTION = "Find and replace text using regex patterns."

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"string": _multiline(), "regex_pattern": _multiline(), "replace": _multiline()},
                "optional": {**_REGEX_FLAGS, "count": ("INT", {
                    "default": 0, "min": 0, "max": 100,
                    "tooltip": "Most replacements to make; 0 replaces every match."})}}

    def execute(self, string, regex_pattern, replace, case_insensitive=True, multiline=False, dotall=False,
                count=0):
        pattern = _compile(regex_pattern, case_insensitive, multiline, dotall)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count: expected a whole number of at least 0, got {count!r}")
        try:
            return (pattern.sub(_text("replace", replace), _text("string", string), count=count),)
        except re.error as error:  # a bad back-reference such as \3
            raise ValueError(f"replace: {error}") from None


class JsonExtractString(_StringNode):
    DESCRIPTION = ("The value under `key` in a JSON object, as text (numbers, lists and objects are "
                   "written as JSON); empty when the key is missing.")

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"json_string": _multiline("A JSON object."),
                             "key": ("STRING", {"default": "", "tooltip": "The key to read."})}}

    def execute(self, json_string, key):
        try:
            document = json.loads(_text("json_string", json_string))
        except json.JSONDecodeError as error:
            raise ValueError(f"json_string: not valid JSON ({error})") from None
        if not isinstance(document, dict):
            raise ValueError(f"json_string: expected a JSON object, got {type(document).__name__}")
        value = document.get(_text("key", key))
        if value is None:
            return ("",)
        return (value if isinstance(value, str) else json.dumps(value),)


NODE_CLASS_MAPPINGS = {cls.__name__: cls for cls in (
    StringReplace, StringSubstring, StringLength, CaseConverter, StringTrim, StringContains,
    StringCompare, RegexMatch, RegexExtract, RegexReplace, JsonExtractString)}
NODE_DISPLAY_NAME_MAPPINGS = {
    "StringReplace": "Replace", "StringSubstring": "Substring", "StringLength": "Length",
    "CaseConverter": "Case Converter", "StringTrim": "Trim", "StringContains": "Contains",
    "StringCompare": "Compare", "RegexMatch": "Regex Match", "RegexExtract": "Regex Extract",
    "RegexReplace": "Regex Replace", "JsonExtractString": "Extract String from JSON",
}
