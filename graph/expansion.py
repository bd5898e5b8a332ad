"""Node expansion: a node may return {"expand": subgraph, "result": (...)}.

The subgraph (API format) is added to the running prompt with its node ids prefixed
by the parent's id ("5" expanding "add" gives "5.add"), so ids stay unique even
when expansions nest. The parent's outputs are its result values, where a
[node_id, index] link means "that subgraph node's output".
"""
from graph.errors import NodeDefinitionError
from graph.execution_list import is_link
from graph.node_call import LinkedValues, merge_outputs


def add_subgraphs(parent_id, expansions, dynprompt, schemas):
    """Add each call's subgraph to dynprompt.

    Returns (entries, new_output_ids): per call (is_subgraph, result tuple with links
    renamed), and the ids of the added output nodes (they run too).
    """
    entries, new_outputs = [], []
    for subgraph, result in expansions:
        if subgraph is None:
            entries.append((False, result))
            continue
        if not isinstance(subgraph, dict):
            raise NodeDefinitionError("'expand' must be an API-format dict of nodes")
        renamed = {str(sub_id): f"{parent_id}.{sub_id}" for sub_id in subgraph}

        def rename(value):
            if is_link(value) and str(value[0]) in renamed:
                return [renamed[str(value[0])], value[1]]
            return value

        for sub_id, sub_node in subgraph.items():
            class_type = sub_node.get("class_type") if isinstance(sub_node, dict) else None
            if not schemas.has(class_type):
                raise NodeDefinitionError(
                    f"expanded node '{sub_id}' has unknown class_type {class_type!r}")
            inputs = sub_node.get("inputs", {})
            new_node = {"class_type": class_type,
                        "inputs": {name: rename(value) for name, value in inputs.items()}}
            new_id = renamed[str(sub_id)]
            dynprompt.add_ephemeral(new_id, new_node, parent_id)
            if schemas.get(class_type).is_output:
                new_outputs.append(new_id)
        entries.append((True, tuple(rename(value) for value in result)))
    return entries, new_outputs


def linked_sources(entries):
    """Ids of the nodes the parent's results link to (the parent waits for them)."""
    return [str(value[0]) for is_subgraph, result in entries if is_subgraph
            for value in result if is_link(value)]


def resolve_outputs(entries, store, schema):
    """The parent's outputs once every linked subgraph node has run."""
    per_call = []
    for is_subgraph, result in entries:
        if is_subgraph:
            result = tuple(LinkedValues(store[str(v[0])][v[1]]) if is_link(v) else v
                           for v in result)
        per_call.append(result)
    return merge_outputs(per_call, schema)
