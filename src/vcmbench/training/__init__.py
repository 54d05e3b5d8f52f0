"""What trainable task models and learned codecs share: the training loop, the checkpoint store
and the conversion of task inputs to tensors.

This package sits below both ``vcmbench.tasks`` and ``vcmbench.codecs`` (it imports neither),
so a new trainable model of either kind (PointNet, a point-cloud codec) reuses it without the
two knowing each other. Import the submodules directly; this package imports nothing heavy.
"""
