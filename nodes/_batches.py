"""Run per-image work one batch item at a time, stopping between items on an interrupt.

A big batch of big images would otherwise run to its end after /interrupt; resizing
one item at a time gives the same result (every item is resized on its own anyway).
"""


def each_item(batch, fn):
    """fn(batch[i:i+1]) for every item, concatenated; checks for an interrupt in between."""
    import torch

    from graph import context

    if batch.shape[0] <= 1:
        return fn(batch)
    current = context.current()
    parts = []
    for index in range(batch.shape[0]):
        if current is not None:
            current.check_interrupt()
        parts.append(fn(batch[index:index + 1]))
    return torch.cat(parts, dim=0)
