"""What a running node can see of the engine: progress, previews, interrupts.

graph.context.current() returns the ExecutionContext of the node running on this
thread or asyncio task (a contextvars.ContextVar, so sync and async nodes both see it).
A node that starts its own worker thread wraps the thread's target with bind() so
the thread sees the same context.
"""
import contextvars

from graph.errors import Interrupted

_current = contextvars.ContextVar("loom_execution_context", default=None)


class ExecutionBlocker:
    """An output value that stops every downstream node that receives it.

    Nodes that receive a blocker are not called; they output blockers themselves.
    An output node receiving a blocker with a message reports that message as an
    error; with message None the branch is skipped silently.
    """

    def __init__(self, message=None):
        self.message = message

    def __repr__(self):
        return f"ExecutionBlocker({self.message!r})"


class ExecutionContext:
    """Per-node handle: who is running, and how to report progress back."""

    def __init__(self, prompt_id, node_id, client_id=None, display_node_id=None,
                 emit=None, interrupt_event=None, previews=True):
        self.prompt_id = prompt_id
        self.node_id = node_id
        self.previews = previews   # whether anyone wants live previews (nodes may skip making them)
        self.display_node_id = display_node_id if display_node_id is not None else node_id
        self.client_id = client_id
        self._emit = emit
        self._interrupt_event = interrupt_event

    def interrupted(self):
        return self._interrupt_event is not None and self._interrupt_event.is_set()

    def check_interrupt(self):
        """Raise graph.errors.Interrupted if the user asked to stop."""
        if self.interrupted():
            raise Interrupted("Processing interrupted")

    def progress(self, value, max, preview=None):
        """Report progress (value out of max); optional preview = (format, image_bytes)."""
        self.check_interrupt()
        self.send("progress", {"value": value, "max": max, "prompt_id": self.prompt_id,
                               "node": self.display_node_id})
        if preview is not None:
            image_format, image_bytes = preview
            self.preview(image_format, image_bytes)

    def preview(self, image_format, image_bytes):
        """Send a binary preview image ("JPEG" or "PNG" bytes) to the submitting client,
        unless nobody wants previews for this prompt."""
        if not self.previews:
            return
        self.send("preview_image", {"format": image_format, "image": image_bytes,
                                    "node": self.display_node_id, "prompt_id": self.prompt_id})

    def send(self, event, data):
        """Send a custom event to the client that submitted the prompt."""
        if self._emit is not None:
            self._emit(event, data, self.client_id)


def current():
    """The ExecutionContext of the node running here, or None outside a node."""
    return _current.get()


def activate(context):
    """Make `context` current; returns a token for deactivate()."""
    return _current.set(context)


def deactivate(token):
    _current.reset(token)


def bind(fn):
    """Wrap fn so that, called on another thread, it sees the caller's current context.

        threading.Thread(target=graph.context.bind(work)).start()
    """
    snapshot = contextvars.copy_context()

    def bound(*args, **kwargs):
        return snapshot.copy().run(fn, *args, **kwargs)

    return bound
