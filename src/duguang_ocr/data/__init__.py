"""Data sets, LMDB I/O, augmentation and batching for training and evaluation."""
