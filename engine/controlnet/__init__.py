"""ControlNet: load ControlNet files, attach them to conditioning, run them beside the UNet.

- detect.py   which kind of file a state dict is, and the ControlNetModel config from its tensor shapes
- convert.py  original (ControlNet 1.x "control_model.*") and diffusers key layouts
- load.py     load_controlnet(path, model=None) -> ControlNet (cached like checkpoints)
- control.py  ControlNet (the CONTROL_NET value) and ControlHint (one applied ControlNet in a chain)
- apply.py    what the denoiser calls: the summed residuals of a chain for one UNet call
"""
from engine.controlnet.control import ControlHint, ControlNet

__all__ = ["ControlHint", "ControlNet"]
