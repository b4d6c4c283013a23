"""Reading records written by older versions of the package: one migration per layout change.

A record's version is the ``PROTO_VERSION`` of the writer that made it (``contract.metadata``).
When a release changes a record layout it raises ``PROTO_VERSION`` to N and registers, under
N - 1, a function that turns a record of version N - 1 into one of version N. Readers call
``upgrade_record`` on every record they decode, so an old log reads as if written today and
routes see one layout only. Versions are chained: a record of version 1 read by a version-3
reader goes through the migrations registered under 1 and 2, in order.

Version 2 added two columns to layer statistics (``update_ratio``, ``saturation``): version-1
statistics read with those columns NaN (not measured).
"""

from __future__ import annotations

from typing import Callable, Union

import numpy as np

from . import metadata
from .records import Record

# A blob-sequence record decoded by ``records.decode_record``, or the array of a tensor record
# (layer statistics).
RecordValue = Union[Record, np.ndarray]
# (kind, value of version v) -> value of version v + 1.
Migration = Callable[[str, RecordValue], RecordValue]


def _statistics_columns_added(kind: str, value: RecordValue) -> RecordValue:
    """Version 1 -> 2: statistics ``[3, 9]`` gain the NaN columns update_ratio and saturation."""
    if kind != metadata.KIND_STATISTICS or not isinstance(value, np.ndarray):
        return value
    rows = np.asarray(value, dtype=np.float64)
    old, new = len(metadata.STATISTIC_NAMES_V1), len(metadata.STATISTIC_NAMES)
    # A tag keeps the version of its first event: a log a newer writer continued already has them.
    if rows.ndim != 2 or rows.shape[1] != old:
        return rows
    return np.concatenate([rows, np.full((rows.shape[0], new - old), np.nan)], axis=1)


MIGRATIONS: dict[int, Migration] = {1: _statistics_columns_added}


def upgrade_record(kind: str, version: int, value: RecordValue) -> RecordValue:
    """Bring a record of ``version`` to the current layout (``metadata.PROTO_VERSION``).

    Args:
      kind: the record kind (one of ``metadata.KINDS``); a migration may change some kinds only.
      version: the version the record was written as (``RecordInfo.version``).
      value: the decoded record.

    Returns:
      The record in the current layout (``value`` itself when nothing changed).

    Raises:
      ValueError: for a version outside the ones this reader knows.
    """
    if not metadata.OLDEST_VERSION <= version <= metadata.PROTO_VERSION:
        raise ValueError(
            f"cannot read a {kind} record of version {version}: this reader knows versions "
            f"{metadata.OLDEST_VERSION} to {metadata.PROTO_VERSION}"
        )
    for step in range(version, metadata.PROTO_VERSION):
        migration = MIGRATIONS.get(step)
        if migration is not None:
            value = migration(kind, value)
    return value
