"""Which nodes still have to run, and which of them can run now.

DynamicPrompt is the prompt plus the nodes added while it runs (node expansion).
ExecutionList schedules nodes on demand: adding a node also adds the ancestors it
needs right now (non-lazy links whose outputs are not available yet). A node is
ready when nothing it waits on is left; ready nodes are handed out in a fixed order
(async nodes first, so they start early, then output nodes, then the order added).
"""
from graph.errors import DependencyCycleError


def is_link(value):
    return isinstance(value, list) and len(value) == 2


class DynamicPrompt:
    def __init__(self, prompt):
        self.original = prompt
        self.ephemeral = {}
        self._parent = {}

    def has_node(self, node_id):
        return node_id in self.original or node_id in self.ephemeral

    def get_node(self, node_id):
        if node_id in self.ephemeral:
            return self.ephemeral[node_id]
        if node_id in self.original:
            return self.original[node_id]
        raise KeyError(f"node '{node_id}' is not in the prompt")

    def add_ephemeral(self, node_id, node, parent_id):
        if self.has_node(node_id):
            raise ValueError(f"expanded node id '{node_id}' already exists in the prompt")
        self.ephemeral[node_id] = node
        self._parent[node_id] = parent_id

    # ComfyUI's names, for custom nodes that take the DYNPROMPT hidden input.
    def get_original_prompt(self):
        return self.original

    def get_display_node_id(self, node_id):
        return self.display_id(node_id)

    def all_node_ids(self):
        return set(self.original) | set(self.ephemeral)

    def parent(self, node_id):
        return self._parent.get(node_id)

    def display_id(self, node_id):
        """The node of the original prompt that an expanded node belongs to."""
        while node_id in self._parent:
            node_id = self._parent[node_id]
        return node_id


class ExecutionList:
    def __init__(self, dynprompt, schemas, is_available):
        """is_available(node_id) -> bool: whether the node's outputs can be had now
        (already computed in this prompt, or loaded from the cache)."""
        self.dynprompt = dynprompt
        self.schemas = schemas
        self.is_available = is_available
        self._order = {}            # pending node -> order added
        self._waiting_on = {}       # pending node -> set of nodes it waits for
        self._waiters = {}          # node -> set of pending nodes waiting for it
        self._running = set()
        self._counter = 0
        self._priority_of = {}

    def __contains__(self, node_id):
        return node_id in self._order

    def is_empty(self):
        return not self._order

    def add_node(self, node_id):
        """Schedule node_id and every unavailable ancestor its non-lazy inputs need."""
        todo = [node_id]
        while todo:
            current = todo.pop(0)
            if current in self._order:
                continue
            self._schedule(current)
            node = self.dynprompt.get_node(current)
            schema = self.schemas.get(node["class_type"])
            for name, value in node.get("inputs", {}).items():
                if is_link(value) and not schema.is_lazy(name):
                    source = str(value[0])
                    if self._wait_for(current, source):
                        todo.append(source)

    def add_dependency(self, node_id, source):
        """Make node_id wait for source (scheduling it if needed)."""
        if self._wait_for(node_id, source):
            self.add_node(source)

    def _schedule(self, node_id):
        self._counter += 1
        self._order[node_id] = self._counter
        schema = self.schemas.get(self.dynprompt.get_node(node_id)["class_type"])
        self._priority_of[node_id] = (0 if schema.is_async() else 1,
                                      0 if schema.is_output else 1, self._counter)
        self._waiting_on.setdefault(node_id, set())

    def _wait_for(self, node_id, source):
        """Record the wait unless source is available; True if source must be scheduled."""
        if source not in self._order and self.is_available(source):
            return False
        self._waiting_on.setdefault(node_id, set()).add(source)
        self._waiters.setdefault(source, set()).add(node_id)
        return source not in self._order

    def waits(self, node_id):
        return bool(self._waiting_on.get(node_id))

    def ready_nodes(self):
        ready = [n for n in self._order
                 if n not in self._running and not self._waiting_on.get(n)]
        return sorted(ready, key=self._priority)

    def _priority(self, node_id):
        return self._priority_of[node_id]

    def next_ready(self):
        ready = self.ready_nodes()
        return ready[0] if ready else None

    def mark_running(self, node_id):
        self._running.add(node_id)

    def mark_not_running(self, node_id):
        self._running.discard(node_id)

    def has_running(self):
        return bool(self._running)

    def complete(self, node_id):
        """node_id's outputs are available: release the nodes waiting for it."""
        self._order.pop(node_id, None)
        self._waiting_on.pop(node_id, None)
        self._running.discard(node_id)
        for waiter in self._waiters.pop(node_id, set()):
            if waiter in self._waiting_on:
                self._waiting_on[waiter].discard(node_id)

    def stuck_error(self):
        """The error to raise when nodes are pending but none can ever run."""
        blamed = min(self._order, key=self._order.get)
        pending = ", ".join(sorted(self._order))
        return blamed, DependencyCycleError(
            f"Dependency cycle detected: nodes {pending} wait on each other")
