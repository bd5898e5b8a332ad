"""Command-line entry points behind server.py: flags, start-up, the headless runner."""
