"""Data sets (readers for CamVid, DAVIS, VOC, Cityscapes, generic folders) and transforms.

Importing this package does not import torch; the data set objects use it when indexed.
"""

from liveseg.data.base import DatasetInfo, Sample, SegmentationDataset, collate
from liveseg.data.datasets import READERS, build_dataset, davis_clips, read_dataset

__all__ = [
    "READERS",
    "DatasetInfo",
    "Sample",
    "SegmentationDataset",
    "build_dataset",
    "collate",
    "davis_clips",
    "read_dataset",
]
