"""Segmentation heads. Each takes the backbone's feature list and returns logits at some
stride; SegmentationModel resizes them to the input size."""
