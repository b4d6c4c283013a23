"""Older records stay readable: versions up to the reader's are accepted and migrated in order."""

from __future__ import annotations

import numpy as np
import pytest

from tensorboard_deepviz import summary
from tensorboard_deepviz.contract import metadata, migrations, records


def _confusion_record_as_written_today() -> tuple[bytes, list[bytes]]:
    written = summary.confusion_summary(np.array([0, 1, 1]), np.array([0, 1, 0]), 2).value[0]
    return written.metadata.plugin_data.content, list(written.tensor.string_val)


def test_every_version_up_to_the_readers_own_is_read():
    content, _ = _confusion_record_as_written_today()
    assert metadata.parse_plugin_metadata(content).version == metadata.PROTO_VERSION
    for version in range(metadata.OLDEST_VERSION, metadata.PROTO_VERSION + 1):
        older = metadata.PluginData(version=version, kind="confusion").SerializeToString()
        assert metadata.parse_plugin_metadata(older).version == version


def test_a_record_of_an_older_layout_is_migrated_step_by_step(monkeypatch):
    # A record written by this release is, to a reader two layout changes later, a version-1 record.
    content, blobs = _confusion_record_as_written_today()
    monkeypatch.setattr(metadata, "PROTO_VERSION", metadata.PROTO_VERSION + 2)
    first, second = metadata.PROTO_VERSION - 2, metadata.PROTO_VERSION - 1

    def rename_counts(kind: str, record):  # version 1 -> 2: "counts" became "cell_counts"
        arrays = dict(record.arrays)
        if kind == metadata.KIND_CONFUSION:
            arrays["cell_counts"] = arrays.pop("counts")
        return records.Record(dict(record.fields), arrays)

    def add_total(kind: str, record):  # version 2 -> 3: a "total" field, computed from version 2's layout
        fields = dict(record.fields, total=int(record.arrays["cell_counts"].sum()))
        return records.Record(fields, dict(record.arrays))

    monkeypatch.setattr(migrations, "MIGRATIONS", {first: rename_counts, second: add_total})
    info = metadata.parse_plugin_metadata(content)
    assert info.version == first
    upgraded = migrations.upgrade_record(info.kind, info.version, records.decode_record(blobs))
    assert "counts" not in upgraded.arrays
    np.testing.assert_array_equal(upgraded.arrays["cell_counts"], [[1, 0], [1, 1]])
    assert upgraded.fields["total"] == 3
    # A record already in the newest layout passes through untouched.
    current = records.decode_record(blobs)
    assert migrations.upgrade_record(info.kind, metadata.PROTO_VERSION, current) is current


def test_upgrading_a_version_the_reader_does_not_know_is_an_error():
    _, blobs = _confusion_record_as_written_today()
    with pytest.raises(ValueError, match="knows versions"):
        migrations.upgrade_record("confusion", metadata.PROTO_VERSION + 1, records.decode_record(blobs))


def test_version_1_statistics_gain_the_update_ratio_and_saturation_columns_as_nan():
    rows = np.ones((3, 9))
    upgraded = migrations.upgrade_record(metadata.KIND_STATISTICS, 1, rows)
    assert upgraded.shape == (3, len(metadata.STATISTIC_NAMES))
    assert np.isnan(upgraded[:, 9:]).all() and (upgraded[:, :9] == 1).all()
    # A tag begun by version 1 and continued by version 2 already has them: kept as written.
    full = np.zeros((3, len(metadata.STATISTIC_NAMES)))
    assert migrations.upgrade_record(metadata.KIND_STATISTICS, 1, full) is full
