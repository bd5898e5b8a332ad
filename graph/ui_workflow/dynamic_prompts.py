"""ComfyUI's dynamic prompts, which its editor resolves when it queues a graph: in text
widgets marked `dynamicPrompts`, comments (`// ...` to the end of the line and
`/* ... */`) are removed and every `{a|b|c}` is replaced by one of its options, chosen
at random, innermost braces first.
"""
import random
import re

COMMENTS = re.compile(r"/\*[\s\S]*?\*/|//.*")
INNERMOST = re.compile(r"\{([^{}]*)\}")


def resolve(text, rng=None):
    rng = rng or random.Random()
    text = COMMENTS.sub("", text)
    while True:
        replaced = INNERMOST.sub(lambda m: rng.choice(m.group(1).split("|")), text, count=1)
        if replaced == text:
            return text
        text = replaced
