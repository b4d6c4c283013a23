"""Clusters records: K-Means clusters of every eval image's features at one layer, kept comparable
from one checkpoint to the next.

The features (by default the input of the last Linear) are copied to the host batch by batch
during the eval pass; clustering runs in the worker, which also keeps the previous checkpoint's
clusters so that cluster numbers follow each other.
"""

from __future__ import annotations

from typing import Optional

import torch

from ... import summary
from ...analysis import clustering
from .base import Batch, CheckpointContext, CheckpointSink, Collector, Setup, Tap, host_copy


class ClustersCollector(Collector[list[torch.Tensor]]):
    """Taps the cluster layer; writes one clusters record."""

    name = "clusters"

    def __init__(self, setup: Setup) -> None:
        self._tap = setup.cluster_tap
        self._layer = setup.cluster_layer
        self._labels = setup.labels.numpy()
        self._num_classes = len(setup.class_names)
        self._clusters = setup.clusters
        self._metric = setup.cluster_metric
        self._nearest = setup.nearest_per_cluster
        self._features: list[torch.Tensor] = []
        self._previous: Optional[clustering.Clusters] = None  # the worker's, for continuity

    def taps(self) -> list[Tap]:
        return [self._tap]

    def begin(self, context: CheckpointContext) -> None:
        self._features = []

    def on_tap(self, batch: Batch, tap: Tap, tensor: torch.Tensor) -> None:
        self._features.append(host_copy(tensor))

    def finish(self) -> list[torch.Tensor]:
        features, self._features = self._features, []
        return features

    def combine(self, snapshots: list[list[torch.Tensor]]) -> list[torch.Tensor]:
        return [batch for snapshot in snapshots for batch in snapshot]  # slices in rank order: eval order

    def write(self, snapshot: list[torch.Tensor], sink: CheckpointSink) -> None:
        features = torch.cat([f.float().reshape(len(f), -1) for f in snapshot]).numpy()
        clusters = clustering.cluster_features(
            features,
            self._labels,
            num_clusters=self._clusters,
            num_classes=self._num_classes,
            metric=self._metric,
            nearest_per_cluster=self._nearest,
        )
        # Checkpoints are written in order by the one worker: each follows the one before.
        clusters = clustering.follow_previous(clusters, self._previous)
        self._previous = clusters
        sink.add(summary.clusters_summary(clusters, layer=self._layer, metric=self._metric))
