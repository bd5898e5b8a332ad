import numpy as np
import pytest

from graph.cache import CacheConfig, OutputCache, estimate_nbytes
from graph.executor import PromptExecutor
from tests.graph_nodes import make_nodes


def sampler_workflow(seed, ids=("1", "2", "3", "4", "5")):
    a, b, sampler, text, out = ids
    return {a: {"class_type": "IntConst", "inputs": {"value": 2}},
            b: {"class_type": "Add", "inputs": {"a": [a, 0], "b": 3}},
            sampler: {"class_type": "Seeded", "inputs": {"x": [b, 0], "seed": seed}},
            text: {"class_type": "ToString", "inputs": {"value": [sampler, 0]}},
            out: {"class_type": "Collect", "inputs": {"value": [text, 0]}}}


def executor_for(policy="lru", **limits):
    nodes, log = make_nodes()
    return PromptExecutor(nodes, cache=CacheConfig(policy=policy, **limits)), log


def test_changing_the_seed_reruns_only_the_sampler_and_its_descendants():
    executor, log = executor_for()
    executor.execute(sampler_workflow(seed=1), "p1")
    log.calls.clear()
    result = executor.execute(sampler_workflow(seed=2), "p2")
    assert sorted(log.node_ids()) == ["3", "4", "5"]
    assert result.outputs["5"] == {"values": ["5002"]}
    assert result.cached == ["1", "2"]


def test_renumbered_graph_hits_the_cache():
    executor, log = executor_for()
    executor.execute(sampler_workflow(seed=1), "p1")
    log.calls.clear()
    renumbered = sampler_workflow(seed=1, ids=("10", "20", "30", "40", "50"))
    result = executor.execute(renumbered, "p2")
    assert log.calls == []
    assert result.outputs == {"50": {"values": ["5001"]}}


@pytest.mark.parametrize("policy", ["none", "last", "lru"])
def test_within_one_prompt_every_policy_computes_each_node_once(policy):
    executor, log = executor_for(policy)
    result = executor.execute(sampler_workflow(seed=1), "p")
    assert result.status_str == "success"
    assert sorted(log.node_ids()) == ["1", "2", "3", "4", "5"]


def test_policy_none_reruns_everything():
    executor, log = executor_for("none")
    executor.execute(sampler_workflow(seed=1), "p1")
    executor.execute(sampler_workflow(seed=1), "p2")
    assert log.count("IntConst") == 2 and log.count("Seeded") == 2
    assert len(executor.cache) == 0


def test_policy_last_keeps_only_the_previous_prompt():
    executor, log = executor_for("last")
    executor.execute(sampler_workflow(seed=1), "p1")
    other = {"9": {"class_type": "IntConst", "inputs": {"value": 77}},
             "10": {"class_type": "Collect", "inputs": {"value": ["9", 0]}}}
    executor.execute(other, "p2")
    executor.execute(other, "p3")
    assert log.count("IntConst") == 2       # 2 from p1, 77 once (p3 hit the cache)
    log.calls.clear()
    executor.execute(sampler_workflow(seed=1), "p4")
    assert sorted(log.node_ids()) == ["1", "2", "3", "4", "5"]   # p1's outputs were dropped


def test_lru_is_bounded_by_entry_count():
    executor, log = executor_for("lru", max_entries=2, max_ram_bytes=None)
    for value in (1, 2, 3):
        executor.execute({"1": {"class_type": "IntConst", "inputs": {"value": value}},
                          "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}, "p")
    assert len(executor.cache) == 2
    log.calls.clear()
    executor.execute({"1": {"class_type": "IntConst", "inputs": {"value": 3}},
                      "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}, "p")
    assert log.calls == []                    # the newest entries survived
    executor.execute({"1": {"class_type": "IntConst", "inputs": {"value": 1}},
                      "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}, "p")
    assert log.node_ids() == ["1", "2"]      # the oldest was evicted


def test_lru_is_bounded_by_estimated_ram():
    nodes, log = make_nodes()

    class Zeros:
        RETURN_TYPES = ("ARRAY",)
        FUNCTION = "run"
        OUTPUT_NODE = True

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"kib": ("INT", {})}}

        def run(self, kib):
            log.record("Zeros", {"kib": kib})
            return (np.zeros(kib * 1024, dtype=np.uint8),)

    executor = PromptExecutor({**nodes, "Zeros": Zeros},
                              cache=CacheConfig("lru", max_entries=100, max_ram_bytes=250 * 1024))
    for kib in (100, 101, 102):
        executor.execute({"1": {"class_type": "Zeros", "inputs": {"kib": kib}}}, "p")
    assert len(executor.cache) == 2
    assert executor.cache.total_nbytes == (101 + 102) * 1024
    executor.execute({"1": {"class_type": "Zeros", "inputs": {"kib": 100}}}, "p")
    assert log.count("Zeros") == 4      # 100 KiB had been evicted and ran again


def test_reset_cache_forgets_everything():
    executor, log = executor_for()
    executor.execute(sampler_workflow(seed=1), "p1")
    executor.reset_cache()
    executor.execute(sampler_workflow(seed=1), "p2")
    assert log.count("IntConst") == 2


def test_is_changed_controls_reuse():
    executor, log = executor_for()

    def prompt(token):
        return {"1": {"class_type": "Counter", "inputs": {"token": token}},
                "2": {"class_type": "Collect", "inputs": {"value": ["1", 0]}}}

    executor.execute(prompt("a"), "p1")
    executor.execute(prompt("a"), "p2")
    assert log.count("Counter") == 1
    executor.execute(prompt("always"), "p3")   # NaN: never equal, always runs
    executor.execute(prompt("always"), "p4")
    assert log.count("Counter") == 3
    assert log.count("Collect") == 3           # and so do its descendants


def test_not_idempotent_nodes_are_not_shared_but_plain_duplicates_are():
    executor, log = executor_for()
    prompt = {"1": {"class_type": "Random", "inputs": {"value": 5}},
              "2": {"class_type": "Random", "inputs": {"value": 5}},
              "3": {"class_type": "IntConst", "inputs": {"value": 5}},
              "4": {"class_type": "IntConst", "inputs": {"value": 5}},
              "5": {"class_type": "Add", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
              "6": {"class_type": "Add", "inputs": {"a": ["3", 0], "b": ["4", 0]}},
              "7": {"class_type": "Collect", "inputs": {"value": ["5", 0]}},
              "8": {"class_type": "Collect", "inputs": {"value": ["6", 0]}}}
    executor.execute(prompt, "p")
    assert sorted(log.node_ids("Random")) == ["1", "2"]
    assert len(log.node_ids("IntConst")) == 1


def test_cache_entries_keep_the_ui_of_output_nodes():
    executor, _ = executor_for()
    executor.execute(sampler_workflow(seed=1), "p1")
    cached = executor.execute(sampler_workflow(seed=1), "p2")
    assert cached.outputs == {"5": {"values": ["5001"]}}


def test_estimate_nbytes_walks_containers_and_duck_types():
    class TensorLike:
        def element_size(self):
            return 4

        def nelement(self):
            return 1000

    class Holder:
        def __init__(self):
            self.weights = np.zeros(500, dtype=np.float32)

    array = np.zeros((10, 10), dtype=np.float64)
    value = [[{"samples": TensorLike(), "extra": [array, array]}], (Holder(),)]
    assert estimate_nbytes(value) == 4000 + 800 + 2000   # the shared array counts once


def test_output_cache_none_policy_drops_everything_at_the_end_of_a_prompt():
    cache = OutputCache(CacheConfig("none"))
    cache.put(("sig",), [[1]], None)
    assert ("sig",) in cache
    cache.end_prompt([("sig",)])
    assert len(cache) == 0


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="policy"):
        CacheConfig(policy="forever")


def test_unique_id_nodes_key_on_their_id():
    executor, log = executor_for()
    prompt = {"1": {"class_type": "Hidden", "inputs": {"value": 5}},
              "2": {"class_type": "Hidden", "inputs": {"value": 5}}}
    result = executor.execute(prompt, "p1")
    assert result.outputs == {"1": {"unique_id": ["1"]}, "2": {"unique_id": ["2"]}}
    executor.execute(prompt, "p2")
    assert log.count("Hidden") == 2      # each ran once, then both came from the cache


def test_estimate_nbytes_sizes_module_like_objects_from_their_tensors():
    from graph.cache import estimate_nbytes

    class FakeTensor:
        def __init__(self, n):
            self.n = n

        def element_size(self):
            return 4

        def nelement(self):
            return self.n

    class ModuleLike:
        def __init__(self):
            self.internals = {"huge": list(range(100000))}  # must not be walked

        def parameters(self):
            return [FakeTensor(10), FakeTensor(5)]

        def buffers(self):
            return [FakeTensor(1)]

    class Wrapper:  # like CLIP: a plain object holding modules
        def __init__(self):
            self.text_encoders = [ModuleLike(), ModuleLike()]

    assert estimate_nbytes(ModuleLike()) == 64
    assert estimate_nbytes(Wrapper()) == 128
