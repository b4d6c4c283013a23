"""The data contract between the writer and the plugin: names, kinds and versioned metadata.

Every summary this package writes carries ``plugin_name = "deepviz"`` and, in
``plugin_data.content``, a serialized ``PluginData`` message::

    syntax = "proto3";
    package tensorboard_deepviz;
    message PluginData {
      int32 version = 1;   // PROTO_VERSION of the writer
      string kind = 2;     // one of KINDS
      string layer = 3;    // module name for per-layer kinds, "" otherwise
    }

The message is built from a descriptor at import time, so no generated code (and no
protobuf-compiler version) is tied to the installed protobuf runtime. This module is the
only one the writer side and the plugin side both depend on, together with ``records``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from tensorboard.compat.proto import summary_pb2

PLUGIN_NAME = "deepviz"

# Version of the metadata message and of the record layouts it announces. A reader reads every
# version from OLDEST_VERSION up to its own (older layouts pass through ``contract.migrations``)
# and skips, with a warning naming the upgrade, only versions newer than itself.
# Version 2: layer statistics gained the columns update_ratio and saturation.
PROTO_VERSION = 2
OLDEST_VERSION = 1

# Kinds of record (docs/ARCHITECTURE.md, "The data contract"). Per-layer kinds have one tag per layer.
KIND_CORPUS = "corpus"
KIND_GRAPH = "graph"
KIND_WEIGHTS = "weights"
KIND_ACTIVATIONS = "activations"
KIND_PREDICTIONS = "predictions"
KIND_CONFUSION = "confusion"
KIND_CLUSTERS = "clusters"
KIND_STATISTICS = "statistics"
# What each unit of a layer responds to over the eval set: top images, class means.
KIND_UNITS = "units"
# The training loss, per step, when the user passes it to log_step.
KIND_LOSS = "loss"
# Statistics of the first logged layer's input in the training forward pass, per log_step
# (INPUT_STATISTIC_NAMES): how far from normalized the images training sees are.
KIND_INPUTS = "inputs"
# Grad-CAM of the probe images at one layer.
KIND_ATTRIBUTION = "attribution"
# Feature visualization of a layer's units: written at some checkpoints only, after their marker.
KIND_FEATURE_VIS = "feature_vis"
# Per logged layer, what linear CKA between any two layers (of one run or two) needs: centered
# features or Gram matrices over a fixed sample of eval images. One record per checkpoint.
KIND_SIMILARITY = "similarity"
# Written after every other record of a checkpoint, naming the tags written for it: a reader
# that sees it knows the checkpoint is complete (a live log's newest one may not be yet).
KIND_CHECKPOINT = "checkpoint"

KINDS = (
    KIND_CORPUS,
    KIND_GRAPH,
    KIND_WEIGHTS,
    KIND_ACTIVATIONS,
    KIND_PREDICTIONS,
    KIND_CONFUSION,
    KIND_CLUSTERS,
    KIND_STATISTICS,
    KIND_LOSS,
    KIND_INPUTS,
    KIND_UNITS,
    KIND_ATTRIBUTION,
    KIND_FEATURE_VIS,
    KIND_SIMILARITY,
    KIND_CHECKPOINT,
)
PER_LAYER_KINDS = frozenset(
    {KIND_WEIGHTS, KIND_ACTIVATIONS, KIND_STATISTICS, KIND_UNITS, KIND_ATTRIBUTION, KIND_FEATURE_VIS}
)

# Layer statistics are a float64 tensor of shape [len(STATISTIC_SOURCES), len(STATISTIC_NAMES)].
# A row whose "count" is 0 was not available at that step (e.g. no gradient yet). The last two
# columns are not moments of one tensor: "update_ratio" (weights row only) is the norm of the
# weights' change since the previous log_step over their norm, measured on a fixed sample of each
# layer's weights; "saturation" (activations row only) is the share of the layer's outputs that a
# bounded activation after it (tanh, sigmoid, hardtanh) maps to within 1% of its bounds. NaN where
# they do not apply or were not measured.
STATISTIC_SOURCES = ("weights", "gradients", "activations")
STATISTIC_NAMES = (
    "count",
    "mean",
    "std",
    "min",
    "max",
    "norm",
    "zero_fraction",
    "nan_count",
    "inf_count",
    "update_ratio",
    "saturation",
)
# The columns of version-1 statistics records (the moments of one tensor).
STATISTIC_NAMES_V1 = STATISTIC_NAMES[:9]
# Input statistics records are a float64 vector of the moments of the first logged layer's input.
INPUT_STATISTIC_NAMES = STATISTIC_NAMES_V1

TAG_PREFIX = PLUGIN_NAME + "/"


def _build_plugin_data_class() -> Any:
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="tensorboard_deepviz/plugin_data.proto",
        package="tensorboard_deepviz",
        syntax="proto3",
    )
    message = file_proto.message_type.add(name="PluginData")
    field = descriptor_pb2.FieldDescriptorProto
    for number, (name, field_type) in enumerate(
        [("version", field.TYPE_INT32), ("kind", field.TYPE_STRING), ("layer", field.TYPE_STRING)],
        start=1,
    ):
        message.field.add(name=name, number=number, type=field_type, label=field.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorboard_deepviz.PluginData"))


PluginData = _build_plugin_data_class()


class UnknownVersionError(ValueError):
    """Raised for metadata this reader cannot read: written by a newer tensorboard-deepviz, or malformed."""


@dataclasses.dataclass(frozen=True)
class RecordInfo:
    """What a tag's metadata says: the kind of record and, for per-layer kinds, the layer."""

    kind: str
    layer: str
    version: int


def tag_for(kind: str, layer: str = "") -> str:
    """Return the tag of a record: ``deepviz/<kind>`` or ``deepviz/<kind>/<layer>``."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind in PER_LAYER_KINDS:
        if not layer:
            raise ValueError(f"records of kind {kind!r} need a layer name")
        return f"{TAG_PREFIX}{kind}/{layer}"
    return f"{TAG_PREFIX}{kind}"


def data_class_for(kind: str) -> int:
    """Layer statistics, input statistics and the loss are small numeric tensors; everything else is a blob sequence."""
    if kind in (KIND_STATISTICS, KIND_LOSS, KIND_INPUTS):
        return summary_pb2.DATA_CLASS_TENSOR
    return summary_pb2.DATA_CLASS_BLOB_SEQUENCE


def create_summary_metadata(kind: str, layer: str = "") -> summary_pb2.SummaryMetadata:
    """Build the ``SummaryMetadata`` for a record of ``kind`` (and ``layer``)."""
    tag_for(kind, layer)  # validates kind and layer
    content = PluginData(version=PROTO_VERSION, kind=kind, layer=layer)
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME, content=content.SerializeToString()
        ),
        data_class=data_class_for(kind),
    )


def parse_plugin_metadata(content: bytes) -> RecordInfo:
    """Parse ``plugin_data.content`` written by this or an older version of the package.

    Args:
      content: the serialized ``PluginData`` message of a tag's first event.

    Returns:
      The record's kind, layer and the version it was written as. Records of an older version
      are read through ``contract.migrations.upgrade_record``.

    Raises:
      UnknownVersionError: for a version newer than ``PROTO_VERSION`` (the message names the
        upgrade) or one that no release wrote.
      ValueError: for an unknown kind or bytes that are not a ``PluginData`` message.
    """
    if not isinstance(content, (bytes, bytearray)):
        raise TypeError(f"plugin content must be bytes, got {type(content).__name__}")
    try:
        message = PluginData.FromString(bytes(content))
    except Exception as error:  # protobuf raises its own DecodeError type
        raise ValueError(f"deepviz metadata is not a PluginData message: {error}") from error
    if message.version > PROTO_VERSION:
        raise UnknownVersionError(
            f"written by a newer tensorboard-deepviz (record version {message.version}; this one reads versions "
            f"{OLDEST_VERSION} to {PROTO_VERSION}): upgrade with `pip install --upgrade tensorboard-deepviz`"
        )
    if message.version < OLDEST_VERSION:
        raise UnknownVersionError(f"deepviz record version {message.version} was never written by a release")
    if message.kind not in KINDS:
        raise ValueError(f"unknown deepviz record kind {message.kind!r}")
    return RecordInfo(kind=message.kind, layer=message.layer, version=message.version)
