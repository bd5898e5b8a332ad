"""The demo model: a procedural shapes dataset and the script that trains a tiny SD1.x-shaped model on it."""
