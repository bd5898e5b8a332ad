"""Sampling: schedules, samplers, the UNet denoiser wrapper and the KSampler entry point.

This package file stays torch-free so that `engine.sampling.names` can be imported by
node schemas without pulling torch.
"""
