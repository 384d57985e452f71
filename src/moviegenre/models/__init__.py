"""The four visual models of METHOD.md, their batch feeder and their training loop.

Only this package imports TensorFlow/Keras, so the rest of moviegenre stays light to import.
"""
