"""kielo's compute engine: trains and generates from job folders written by the kielo CLI.

The engine owns tensors on GPUs and nothing else: it never tokenises or templates text. See
docs/formats.md for the job folder, compiled data and events it reads and writes.
"""

__version__ = "0.1.0"
