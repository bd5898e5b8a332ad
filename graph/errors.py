"""Exceptions raised by the graph engine (and by nodes that talk to it)."""


class WorkflowError(ValueError):
    """A workflow document is malformed (not a dict, node without class_type, bad link...)."""


class Interrupted(Exception):
    """The running prompt was interrupted by the user.

    Raised by ExecutionContext.progress()/check_interrupt() inside a node, and by the
    executor between nodes.
    """


class NodeDefinitionError(Exception):
    """A node class breaks the V1 node API (bad INPUT_TYPES, missing FUNCTION, bad return)."""


class DependencyCycleError(Exception):
    """Nodes wait on each other, so none of them can ever run."""


def format_execution_error(error: dict) -> str:
    """Readable one-line form of an execution_error event, e.g. "KSampler (#3): boom"."""
    node_type = error.get("node_type") or "?"
    node_id = error.get("node_id")
    message = error.get("exception_message", "")
    return f"{node_type} (#{node_id}): {message}"
