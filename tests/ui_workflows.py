"""Hand-written UI-format workflows and the API prompts ComfyUI's editor would post for them.

Written from ComfyUI's documented behaviour (not copied from any shared file): widget
values in INPUT_TYPES order with the control value after a seed, bypassed nodes passed
through by type, muted nodes dropped with their links, reroutes and primitives
resolved, subgraph nodes flattened to "instance:inner" ids, group nodes to "instance:index".
"""


def node(node_id, node_type, inputs=(), outputs=(), widgets=(), mode=0, title=None, **extra):
    raw = {"id": node_id, "type": node_type, "pos": [node_id * 10, 0], "size": [300, 100],
           "flags": {}, "order": 0, "mode": mode, "inputs": list(inputs), "outputs": list(outputs),
           "properties": {"Node name for S&R": node_type}, "widgets_values": list(widgets)}
    if title:
        raw["title"] = title
    raw.update(extra)
    return raw


def inp(name, type_, link=None, widget=False):
    slot = {"name": name, "type": type_, "link": link}
    if widget:
        slot["widget"] = {"name": name}
    return slot


def out(name, type_, links=()):
    return {"name": name, "type": type_, "links": list(links)}


def kitchen_sink():
    """Version 0.4: a bypassed LoRA, a muted node, a primitive feeding two widgets, a
    primitive string into a converted widget, a reroute chain, a seed with its control
    value, a Note and a MarkdownNote."""
    nodes = [
        node(4, "CheckpointLoaderSimple", outputs=[out("MODEL", "MODEL", [1]), out("CLIP", "CLIP", [2]),
                                                    out("VAE", "VAE", [8])], widgets=["model.safetensors"]),
        node(10, "LoraLoader", mode=4, inputs=[inp("model", "MODEL", 1), inp("clip", "CLIP", 2)],
             outputs=[out("MODEL", "MODEL", [3]), out("CLIP", "CLIP", [4, 5])],
             widgets=["style.safetensors", 0.8, 0.8]),
        # old form: a widget converted to an input, driven by a primitive
        node(6, "CLIPTextEncode", title="Positive",
             inputs=[inp("clip", "CLIP", 4), inp("text", "STRING", 12, widget=True)],
             outputs=[out("CONDITIONING", "CONDITIONING", [6])], widgets=["stale text"]),
        # new form: every widget also has an (unlinked) input slot
        node(7, "CLIPTextEncode", title="Negative",
             inputs=[inp("clip", "CLIP", 5), inp("text", "STRING", None, widget=True)],
             outputs=[out("CONDITIONING", "CONDITIONING", [7])], widgets=["text, watermark"]),
        node(20, "PrimitiveNode", title="Prompt",
             outputs=[dict(out("STRING", "STRING", [12]), widget={"name": "text"})],
             widgets=["a red fox in the snow"]),
        node(21, "PrimitiveNode", title="Size",
             outputs=[dict(out("INT", "INT", [13, 14]), widget={"name": "width"})], widgets=[128, "fixed"]),
        node(5, "EmptyLatentImage", inputs=[inp("width", "INT", 13, widget=True),
                                            inp("height", "INT", 14, widget=True)],
             outputs=[out("LATENT", "LATENT", [9])], widgets=[64, 64, 1]),
        node(3, "KSampler", inputs=[inp("model", "MODEL", 3), inp("positive", "CONDITIONING", 6),
                                    inp("negative", "CONDITIONING", 7), inp("latent_image", "LATENT", 9)],
             outputs=[out("LATENT", "LATENT", [10])],
             widgets=[123, "randomize", 20, 7.5, "euler", "normal", 1.0]),
        node(30, "Reroute", inputs=[inp("", "*", 8)], outputs=[out("", "VAE", [15])]),
        node(31, "Reroute", inputs=[inp("", "*", 15)], outputs=[out("", "VAE", [11])]),
        node(8, "VAEDecode", inputs=[inp("samples", "LATENT", 10), inp("vae", "VAE", 11)],
             outputs=[out("IMAGE", "IMAGE", [16, 17])]),
        node(9, "SaveImage", inputs=[inp("images", "IMAGE", 16)], widgets=["loom"]),
        node(42, "ImageInvert", mode=2, inputs=[inp("image", "IMAGE", 17)], outputs=[out("IMAGE", "IMAGE", [18])]),
        node(43, "PreviewImage", inputs=[inp("images", "IMAGE", 18)]),
        node(50, "Note", widgets=["remember to change the seed"]),
        node(51, "MarkdownNote", widgets=["# notes"]),
    ]
    links = [[1, 4, 0, 10, 0, "MODEL"], [2, 4, 1, 10, 1, "CLIP"], [3, 10, 0, 3, 0, "MODEL"],
             [4, 10, 1, 6, 0, "CLIP"], [5, 10, 1, 7, 0, "CLIP"], [6, 6, 0, 3, 1, "CONDITIONING"],
             [7, 7, 0, 3, 2, "CONDITIONING"], [8, 4, 2, 30, 0, "*"], [9, 5, 0, 3, 3, "LATENT"],
             [10, 3, 0, 8, 0, "LATENT"], [11, 31, 0, 8, 1, "VAE"], [12, 20, 0, 6, 1, "STRING"],
             [13, 21, 0, 5, 0, "INT"], [14, 21, 0, 5, 1, "INT"], [15, 30, 0, 31, 0, "*"],
             [16, 8, 0, 9, 0, "IMAGE"], [17, 8, 0, 42, 0, "IMAGE"], [18, 42, 0, 43, 0, "IMAGE"]]
    return {"last_node_id": 51, "last_link_id": 18, "nodes": nodes, "links": links, "groups": [],
            "config": {}, "extra": {"ds": {"scale": 1, "offset": [0, 0]}}, "version": 0.4}


def kitchen_sink_api():
    return {
        "4": {"inputs": {"ckpt_name": "model.safetensors"}, "class_type": "CheckpointLoaderSimple",
              "_meta": {"title": "Load Checkpoint"}},
        "6": {"inputs": {"text": "a red fox in the snow", "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
              "_meta": {"title": "Positive"}},
        "7": {"inputs": {"text": "text, watermark", "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
              "_meta": {"title": "Negative"}},
        "5": {"inputs": {"width": 128, "height": 128, "batch_size": 1}, "class_type": "EmptyLatentImage",
              "_meta": {"title": "Empty Latent Image"}},
        "3": {"inputs": {"seed": 123, "steps": 20, "cfg": 7.5, "sampler_name": "euler", "scheduler": "normal",
                         "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                         "latent_image": ["5", 0]}, "class_type": "KSampler", "_meta": {"title": "KSampler"}},
        "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]}, "class_type": "VAEDecode",
              "_meta": {"title": "VAE Decode"}},
        "9": {"inputs": {"filename_prefix": "loom", "images": ["8", 0]}, "class_type": "SaveImage",
              "_meta": {"title": "Save Image"}},
        "43": {"inputs": {}, "class_type": "PreviewImage", "_meta": {"title": "Preview Image"}},
    }


def _sampling_tail(positive, negative, model, vae):
    """KSampler, VAEDecode and SaveImage fed from the given (node, slot) pairs, links 1..."""
    return [
        node(5, "EmptyLatentImage", outputs=[out("LATENT", "LATENT", [9])], widgets=[64, 64, 1]),
        node(3, "KSampler", inputs=[inp("model", "MODEL", 1), inp("positive", "CONDITIONING", 6),
                                    inp("negative", "CONDITIONING", 7), inp("latent_image", "LATENT", 9)],
             outputs=[out("LATENT", "LATENT", [10])], widgets=[7, "fixed", 2, 1.0, "euler", "normal", 1.0]),
        node(8, "VAEDecode", inputs=[inp("samples", "LATENT", 10), inp("vae", "VAE", 11)],
             outputs=[out("IMAGE", "IMAGE", [16])]),
        node(9, "SaveImage", inputs=[inp("images", "IMAGE", 16)], widgets=["loom"]),
    ], [{"id": 1, "origin_id": model[0], "origin_slot": model[1], "target_id": 3, "target_slot": 0, "type": "MODEL"},
        {"id": 6, "origin_id": positive[0], "origin_slot": positive[1], "target_id": 3, "target_slot": 1,
         "type": "CONDITIONING"},
        {"id": 7, "origin_id": negative[0], "origin_slot": negative[1], "target_id": 3, "target_slot": 2,
         "type": "CONDITIONING"},
        {"id": 9, "origin_id": 5, "origin_slot": 0, "target_id": 3, "target_slot": 3, "type": "LATENT"},
        {"id": 10, "origin_id": 3, "origin_slot": 0, "target_id": 8, "target_slot": 0, "type": "LATENT"},
        {"id": 11, "origin_id": vae[0], "origin_slot": vae[1], "target_id": 8, "target_slot": 1, "type": "VAE"},
        {"id": 16, "origin_id": 8, "origin_slot": 0, "target_id": 9, "target_slot": 0, "type": "IMAGE"}]


def _tail_api(model, positive, negative, vae):
    return {
        "5": {"inputs": {"width": 64, "height": 64, "batch_size": 1}, "class_type": "EmptyLatentImage",
              "_meta": {"title": "Empty Latent Image"}},
        "3": {"inputs": {"seed": 7, "steps": 2, "cfg": 1.0, "sampler_name": "euler", "scheduler": "normal",
                         "denoise": 1.0, "model": model, "positive": positive, "negative": negative,
                         "latent_image": ["5", 0]}, "class_type": "KSampler", "_meta": {"title": "KSampler"}},
        "8": {"inputs": {"samples": ["3", 0], "vae": vae}, "class_type": "VAEDecode",
              "_meta": {"title": "VAE Decode"}},
        "9": {"inputs": {"filename_prefix": "loom", "images": ["8", 0]}, "class_type": "SaveImage",
              "_meta": {"title": "Save Image"}},
    }


SUBGRAPH_ID = "5f0c2d1e-7a43-4a55-9b1e-3c2f4d6e8a90"


def with_subgraph():
    """Version 1 (links as objects): both prompts live in a subgraph whose 'positive text'
    input is a widget promoted to the instance."""
    definition = {
        "id": SUBGRAPH_ID, "version": 1, "name": "Prompt pair",
        "inputNode": {"id": -10, "bounding": [0, 0, 120, 60]},
        "outputNode": {"id": -20, "bounding": [600, 0, 120, 60]},
        "inputs": [{"id": "in-clip", "name": "clip", "type": "CLIP", "linkIds": [101, 102]},
                   {"id": "in-text", "name": "positive text", "type": "STRING", "linkIds": [103]}],
        "outputs": [{"id": "out-pos", "name": "positive", "type": "CONDITIONING", "linkIds": [104]},
                    {"id": "out-neg", "name": "negative", "type": "CONDITIONING", "linkIds": [105]}],
        "widgets": [],
        "nodes": [
            node(1, "CLIPTextEncode", inputs=[inp("clip", "CLIP", 101), inp("text", "STRING", 103, widget=True)],
                 outputs=[out("CONDITIONING", "CONDITIONING", [104])], widgets=["overridden"]),
            node(2, "CLIPTextEncode", title="Negative", inputs=[inp("clip", "CLIP", 102)],
                 outputs=[out("CONDITIONING", "CONDITIONING", [105])], widgets=["blurry"]),
        ],
        "links": [
            {"id": 101, "origin_id": -10, "origin_slot": 0, "target_id": 1, "target_slot": 0, "type": "CLIP"},
            {"id": 102, "origin_id": -10, "origin_slot": 0, "target_id": 2, "target_slot": 0, "type": "CLIP"},
            {"id": 103, "origin_id": -10, "origin_slot": 1, "target_id": 1, "target_slot": 1, "type": "STRING"},
            {"id": 104, "origin_id": 1, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "CONDITIONING"},
            {"id": 105, "origin_id": 2, "origin_slot": 0, "target_id": -20, "target_slot": 1, "type": "CONDITIONING"},
        ],
    }
    tail, links = _sampling_tail(positive=(12, 0), negative=(12, 1), model=(4, 0), vae=(4, 2))
    nodes = [
        node(4, "CheckpointLoaderSimple", outputs=[out("MODEL", "MODEL", [1]), out("CLIP", "CLIP", [2]),
                                                    out("VAE", "VAE", [11])], widgets=["model.safetensors"]),
        node(12, SUBGRAPH_ID, title="Prompt pair",
             inputs=[inp("clip", "CLIP", 2), inp("positive text", "STRING", None, widget=True)],
             outputs=[out("positive", "CONDITIONING", [6]), out("negative", "CONDITIONING", [7])],
             widgets=["a castle on a hill"]),
    ] + tail
    links.append({"id": 2, "origin_id": 4, "origin_slot": 1, "target_id": 12, "target_slot": 0, "type": "CLIP"})
    return {"id": "b1d3c4e5-0000-4000-8000-000000000001", "revision": 0, "last_node_id": 12,
            "last_link_id": 105, "nodes": nodes, "links": links, "groups": [],
            "definitions": {"subgraphs": [definition]}, "config": {}, "extra": {}, "version": 1}


def with_subgraph_api():
    api = {
        "4": {"inputs": {"ckpt_name": "model.safetensors"}, "class_type": "CheckpointLoaderSimple",
              "_meta": {"title": "Load Checkpoint"}},
        "12:1": {"inputs": {"text": "a castle on a hill", "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
                 "_meta": {"title": "CLIP Text Encode (Prompt)"}},
        "12:2": {"inputs": {"text": "blurry", "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
                 "_meta": {"title": "Negative"}},
    }
    api.update(_tail_api(["4", 0], ["12:1", 0], ["12:2", 0], ["4", 2]))
    return api


def with_group_node():
    """Version 0.4 with a legacy group node (extra.groupNodes): a checkpoint loader and two
    prompts; the loader's CLIP output is used only inside, so the group shows MODEL, VAE
    and the two CONDITIONING outputs, and its widgets are the three inner widgets."""
    group = {
        "nodes": [
            node(0, "CheckpointLoaderSimple", outputs=[out("MODEL", "MODEL"), out("CLIP", "CLIP"),
                                                        out("VAE", "VAE")], widgets=["default.safetensors"], index=0),
            node(1, "CLIPTextEncode", inputs=[inp("clip", "CLIP")], outputs=[out("CONDITIONING", "CONDITIONING")],
                 widgets=["p"], index=1),
            node(2, "CLIPTextEncode", inputs=[inp("clip", "CLIP")], outputs=[out("CONDITIONING", "CONDITIONING")],
                 widgets=["n"], index=2),
        ],
        "links": [[0, 1, 1, 0, 4, "CLIP"], [0, 1, 2, 0, 4, "CLIP"]],
        "external": [[0, 0, "MODEL"], [0, 2, "VAE"]],
    }
    tail, links = _sampling_tail(positive=(12, 2), negative=(12, 3), model=(12, 0), vae=(12, 1))
    nodes = [node(12, "workflow>Loader and prompts",
                  outputs=[out("MODEL", "MODEL", [1]), out("VAE", "VAE", [11]),
                           out("CONDITIONING", "CONDITIONING", [6]),
                           out("CLIPTextEncode CONDITIONING", "CONDITIONING", [7])],
                  widgets=["model.safetensors", "a dog", "ugly"])] + tail
    return {"last_node_id": 12, "last_link_id": 16, "nodes": nodes, "links": links, "groups": [],
            "config": {}, "extra": {"groupNodes": {"Loader and prompts": group}}, "version": 0.4}


def with_group_node_api():
    api = {
        "12:0": {"inputs": {"ckpt_name": "model.safetensors"}, "class_type": "CheckpointLoaderSimple",
                 "_meta": {"title": "Load Checkpoint"}},
        "12:1": {"inputs": {"text": "a dog", "clip": ["12:0", 1]}, "class_type": "CLIPTextEncode",
                 "_meta": {"title": "CLIP Text Encode (Prompt)"}},
        "12:2": {"inputs": {"text": "ugly", "clip": ["12:0", 1]}, "class_type": "CLIPTextEncode",
                 "_meta": {"title": "CLIP Text Encode (Prompt)"}},
    }
    api.update(_tail_api(["12:0", 0], ["12:1", 0], ["12:2", 0], ["12:0", 2]))
    return api
