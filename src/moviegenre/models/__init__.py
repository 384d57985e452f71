"""The four visual models of docs/method.md, their batch feeder and their training loop.

Their names are moviegenre.registry's (loads without TensorFlow); architectures, batches
and train import Keras (as do features/backbones.py and runtime.py).
"""
