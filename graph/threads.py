"""Run a function on a short-lived helper thread and hand back its result or error."""

import threading


def run_in_thread(fn, name="loom-helper"):
    """fn() on a new thread; returns its value or re-raises its exception here.

    Used where the calling thread may already run an asyncio event loop, which
    cannot be re-entered with asyncio.run().
    """
    outcome = {}

    def runner():
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed back to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=runner, name=name)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
