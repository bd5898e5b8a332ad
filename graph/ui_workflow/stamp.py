"""Record in a UI workflow which Loom version and node packs it was run with.

`extra.loom = {"version": "0.1.0", "node_packs": ["core", "my_pack"],
"node_types": {"MyNode": "my_pack"}}`: a later load that lacks one of those types can
say which pack to install.
"""
import copy

from graph.version import LOOM_VERSION


def used_types(workflow):
    types = set()
    scopes = [workflow] + list(((workflow.get("definitions") or {}).get("subgraphs") or []))
    scopes += list(((workflow.get("extra") or {}).get("groupNodes") or {}).values())
    for scope in scopes:
        for node in (scope.get("nodes") or []) if isinstance(scope, dict) else []:
            if isinstance(node, dict) and isinstance(node.get("type"), str):
                types.add(node["type"])
    return types


def pack_of(info):
    module = info.get("python_module") or "nodes"
    return "core" if module == "nodes" else module.split(".", 1)[-1]


def stamp(workflow, catalogue, version=LOOM_VERSION):
    """A copy of the UI workflow with extra.loom filled in; other keys are kept as they are."""
    result = copy.deepcopy(workflow)
    node_types = {}
    packs = set()
    for node_type in sorted(used_types(workflow)):
        if node_type in catalogue:
            pack = pack_of(catalogue[node_type])
            packs.add(pack)
            if pack != "core":
                node_types[node_type] = pack
    extra = result.get("extra")
    if not isinstance(extra, dict):
        extra = result["extra"] = {}
    extra["loom"] = {"version": version, "node_packs": sorted(packs), "node_types": node_types}
    return result
