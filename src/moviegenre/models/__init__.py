"""The four visual models of docs/method.md, their batch feeder and their training loop.

The package itself imports nothing heavy: `models.names` loads without TensorFlow, while
architectures, batches and train import Keras (as do features/backbones.py and runtime.py).
"""
