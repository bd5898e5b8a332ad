"""A tiny synchronous publish/subscribe bus for execution events.

The websocket hub and the command-line progress bar both subscribe here. Subscribers
are called on the thread that emits (usually the executor's worker thread), so a
subscriber that talks to an event loop must hand the event over itself.
"""
import logging
import threading

logger = logging.getLogger(__name__)


class EventBus:
    def __init__(self):
        self._subscribers = []
        self._lock = threading.Lock()

    def subscribe(self, fn):
        """Call fn(event, data, client_id) for every event; returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe():
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def emit(self, event, data, client_id=None):
        """Deliver an event to every subscriber; a failing subscriber is logged, not raised."""
        with self._lock:
            subscribers = list(self._subscribers)
        for fn in subscribers:
            try:
                fn(event, data, client_id)
            except Exception:
                logger.exception("event subscriber %r failed on %r", fn, event)
