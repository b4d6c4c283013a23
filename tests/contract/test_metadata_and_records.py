"""The writer/plugin contract: versioned metadata and the record byte layout."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from tensorboard.compat.proto import summary_pb2

from tensorboard_deepviz.contract import metadata, records


def test_metadata_round_trip_and_data_classes():
    weights = metadata.create_summary_metadata(metadata.KIND_WEIGHTS, "features.0")
    assert weights.plugin_data.plugin_name == "deepviz"
    assert weights.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    info = metadata.parse_plugin_metadata(weights.plugin_data.content)
    assert info == metadata.RecordInfo(kind="weights", layer="features.0", version=metadata.PROTO_VERSION)
    stats = metadata.create_summary_metadata(metadata.KIND_STATISTICS, "fc")
    assert stats.data_class == summary_pb2.DATA_CLASS_TENSOR


def test_a_newer_metadata_version_is_refused_with_the_upgrade_named():
    content = metadata.PluginData(version=metadata.PROTO_VERSION + 1, kind="weights", layer="x").SerializeToString()
    with pytest.raises(metadata.UnknownVersionError, match=r"newer tensorboard-deepviz.*pip install --upgrade"):
        metadata.parse_plugin_metadata(content)


def test_a_version_no_release_wrote_and_garbage_are_refused():
    unversioned = metadata.PluginData(kind="weights", layer="x").SerializeToString()  # version 0
    with pytest.raises(metadata.UnknownVersionError, match="never written"):
        metadata.parse_plugin_metadata(unversioned)
    with pytest.raises(ValueError, match="not a PluginData message"):
        metadata.parse_plugin_metadata(b"\xff\xff\xff")


def test_tags_name_kind_and_layer():
    assert metadata.tag_for("confusion") == "deepviz/confusion"
    assert metadata.tag_for("weights", "layer1.0.conv1") == "deepviz/weights/layer1.0.conv1"
    with pytest.raises(ValueError, match="need a layer name"):
        metadata.tag_for("activations")
    with pytest.raises(ValueError, match="unknown record kind"):
        metadata.tag_for("histogram")


def test_record_round_trip_keeps_dtypes_shapes_and_values():
    rng = np.random.default_rng(0)
    arrays = {
        "codes": rng.integers(0, 255, size=(4, 8, 5, 5), dtype=np.uint8),
        "weights": rng.standard_normal((3, 2)).astype(np.float16),
        "indices": np.arange(7, dtype=np.int32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    blobs = records.encode_record({"names": ["a", "<b>"]}, arrays, compress=["codes"])
    decoded = records.decode_record(blobs)
    assert decoded.fields == {"names": ["a", "<b>"]}
    for name, array in arrays.items():
        assert decoded.arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(decoded.arrays[name], array)
    assert list(records.decode_record(blobs, only=["indices"]).arrays) == ["indices"]


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda blobs: [b"not json", *blobs[1:]], "not JSON"),
        (lambda blobs: blobs[:1], "2 blobs .header and arrays., this one has 1"),
        (lambda blobs: [blobs[0], blobs[1][:-1]], "ends at byte 40 of a 39-byte body"),
        (lambda blobs: [blobs[0].replace(b'"length":40', b'"length":36'), blobs[1]], "has 36 bytes, expected 40"),
        (lambda blobs: [blobs[0].replace(b"int32", b"object"), blobs[1]], "unsupported dtype"),
        (lambda blobs: [blobs[0].replace(b"[10]", b"[-10]"), blobs[1]], "invalid shape"),
    ],
)
def test_corrupt_records_raise_record_error(tamper, message):
    blobs = records.encode_record({}, {"values": np.arange(10, dtype=np.int32)})
    with pytest.raises(records.RecordError, match=message):
        records.decode_record(tamper(blobs))


def test_compressed_array_may_not_inflate_past_its_announced_size():
    bomb = zlib.compress(b"\0" * 10_000_000)
    entry = {"name": "a", "dtype": "uint8", "shape": [10], "compression": "zlib", "offset": 0, "length": len(bomb)}
    header = json.dumps({"fields": {}, "arrays": [entry]}).encode()
    with pytest.raises(records.RecordError, match="inflates past"):
        records.decode_record([header, bomb])


def test_a_units_record_counts_its_dead_units_in_the_header():
    from tensorboard_deepviz import summary

    top_values = np.array([[2.0, 1.0], [-1.0, -2.0], [0.0, -1.0]], dtype=np.float32)
    written = summary.units_summary(
        "conv",
        top_images=np.array([[0, 1], [1, 0], [2, 0]]),
        top_values=top_values,
        top_positions=np.zeros((3, 2, 2)),
        top_boxes=np.zeros((3, 2, 4)),
        class_means=np.zeros((3, 2)),
        mean=np.zeros(3),
        output_shape=[3, 4, 4],
        input_shape=[8, 8],
    ).value[0]
    fields = records.decode_header(written.tensor.string_val[0])["fields"]
    assert (fields["units"], fields["dead_units"]) == (3, 2)
