"""Byte layout of a deepviz blob-sequence record (part of the writer/plugin contract).

A record is two blobs:

* blob 0: a UTF-8 JSON header ``{"fields": {...}, "arrays": [{"name", "dtype", "shape",
  "compression", "offset", "length"}, ...]}``; ``fields`` holds small JSON values (class
  names, layer kind, ...);
* blob 1: the arrays' bytes one after another, array ``i`` at ``[offset, offset + length)``,
  each little-endian, C order, raw or zlib-compressed.

Two blobs, not one per array: each blob read through TensorBoard's Rust data server is a
round trip, and the header alone can be read without the arrays.

Decoding treats the blobs as untrusted: every size, dtype and shape is checked, and a
compressed array may not inflate past the size its header announces.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from typing import Any, Mapping, Sequence

import numpy as np

ALLOWED_DTYPES = frozenset(
    {"bool", "uint8", "int8", "uint16", "int16", "int32", "int64", "float16", "float32", "float64"}
)
# Arrays smaller than this are never worth compressing.
_MIN_COMPRESS_BYTES = 256
# Largest array a reader accepts (bytes), whatever the header says.
MAX_ARRAY_BYTES = 1 << 31


class RecordError(ValueError):
    """A record's bytes do not follow the layout above."""


@dataclasses.dataclass
class Record:
    """A decoded record: JSON fields and named numpy arrays."""

    fields: dict[str, Any]
    arrays: dict[str, np.ndarray]


def encode_record(
    fields: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    *,
    compress: Sequence[str] = (),
    compression_level: int = 1,
) -> list[bytes]:
    """Encode fields and arrays as a list of blobs.

    Args:
      fields: JSON-serializable values stored in the header.
      arrays: named arrays; each dtype must be in ``ALLOWED_DTYPES``.
      compress: names of arrays to store zlib-compressed (kept raw when that is not smaller).
      compression_level: zlib level, 1 (fast) to 9 (small).
    """
    unknown = set(compress) - set(arrays)
    if unknown:
        raise ValueError(f"cannot compress unknown arrays: {sorted(unknown)}")
    entries = []
    payloads = []
    offset = 0
    for name, array in arrays.items():
        array = np.asarray(array)
        dtype_name = array.dtype.name
        if dtype_name not in ALLOWED_DTYPES:
            raise ValueError(f"array {name!r} has dtype {dtype_name}, not one of {sorted(ALLOWED_DTYPES)}")
        raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        compression = "none"
        if name in compress and len(raw) >= _MIN_COMPRESS_BYTES:
            packed = zlib.compress(raw, compression_level)
            if len(packed) < len(raw):
                raw, compression = packed, "zlib"
        entries.append(
            {
                "name": name,
                "dtype": dtype_name,
                "shape": list(array.shape),
                "compression": compression,
                "offset": offset,
                "length": len(raw),
            }
        )
        payloads.append(raw)
        offset += len(raw)
    header = json.dumps({"fields": dict(fields), "arrays": entries}, separators=(",", ":"), allow_nan=False)
    return [header.encode("utf-8"), b"".join(payloads)]


def decode_header(header_blob: bytes) -> dict[str, Any]:
    """Parse and validate blob 0 of a record."""
    try:
        header = json.loads(bytes(header_blob).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordError(f"record header is not JSON: {error}") from None
    if not isinstance(header, dict) or not isinstance(header.get("fields"), dict):
        raise RecordError("record header lacks a 'fields' object")
    entries = header.get("arrays")
    if not isinstance(entries, list):
        raise RecordError("record header lacks an 'arrays' list")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise RecordError("record array entry lacks a name")
        if entry.get("dtype") not in ALLOWED_DTYPES:
            raise RecordError(f"array {entry['name']!r} has unsupported dtype {entry.get('dtype')!r}")
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise RecordError(f"array {entry['name']!r} has an invalid shape {shape!r}")
        if entry.get("compression") not in ("none", "zlib"):
            raise RecordError(f"array {entry['name']!r} has unknown compression {entry.get('compression')!r}")
        for key in ("offset", "length"):
            if not isinstance(entry.get(key), int) or isinstance(entry.get(key), bool) or entry[key] < 0:
                raise RecordError(f"array {entry['name']!r} has an invalid {key} {entry.get(key)!r}")
    return header


def decode_record(blobs: Sequence[bytes], *, only: Sequence[str] | None = None) -> Record:
    """Decode blobs made by ``encode_record``; ``only`` limits which arrays are decoded."""
    if len(blobs) != 2:
        raise RecordError(f"a record has 2 blobs (header and arrays), this one has {len(blobs)}")
    header = decode_header(blobs[0])
    body = memoryview(bytes(blobs[1]))
    arrays = {}
    for entry in header["arrays"]:
        if only is not None and entry["name"] not in only:
            continue
        end = entry["offset"] + entry["length"]
        if end > len(body):
            raise RecordError(f"array {entry['name']!r} ends at byte {end} of a {len(body)}-byte body")
        arrays[entry["name"]] = _decode_array(entry, bytes(body[entry["offset"] : end]))
    return Record(fields=header["fields"], arrays=arrays)


def _decode_array(entry: Mapping[str, Any], payload: bytes) -> np.ndarray:
    dtype = np.dtype(entry["dtype"]).newbyteorder("<")
    shape = tuple(entry["shape"])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if expected > MAX_ARRAY_BYTES:
        raise RecordError(f"array {entry['name']!r} is too large ({expected} bytes)")
    if entry["compression"] == "zlib":
        inflater = zlib.decompressobj()
        try:
            payload = inflater.decompress(payload, expected)
        except zlib.error as error:
            raise RecordError(f"array {entry['name']!r} is not valid zlib data: {error}") from None
        if inflater.unconsumed_tail:
            raise RecordError(f"array {entry['name']!r} inflates past its announced size")
    if len(payload) != expected:
        raise RecordError(f"array {entry['name']!r} has {len(payload)} bytes, expected {expected}")
    return np.frombuffer(payload, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)
