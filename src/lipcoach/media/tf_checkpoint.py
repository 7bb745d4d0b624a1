"""Read a TensorFlow (V2) checkpoint with numpy alone.

A checkpoint ``<prefix>`` is two files. ``<prefix>.index`` is a LevelDB-style SSTable mapping
each variable's name to a ``BundleEntryProto`` (dtype, shape, shard, byte offset, size);
``<prefix>.data-00000-of-00001`` holds the raw little-endian tensors those entries point
into. The table is: data blocks of prefix-compressed key/value records, an index block whose
values are the data blocks' handles, and a 48-byte footer (two handles and a magic number).
TensorFlow writes the index uncompressed, so no snappy is needed. Formats from TensorFlow's
``tensor_bundle.proto`` and LevelDB's ``table_format.md``; no TensorFlow code is used.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from lipcoach.errors import LipcoachError

#: LevelDB's table magic number (the last 8 bytes of the index file).
TABLE_MAGIC = 0xDB4775248B80FB57
#: TensorFlow DataType enum values we can read, and their numpy types.
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_, 19: np.float16}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at ``pos``; return (value, next position)."""
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _proto_fields(buf: bytes) -> list[tuple[int, object]]:
    """(field number, value) pairs of a protobuf message: ints for varints, bytes otherwise."""
    fields, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        fields.append((number, value))
    return fields


def _block_records(table: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """Key/value records of one SSTable block (keys share prefixes with their predecessor)."""
    if table[offset + size] != 0:
        raise ValueError("compressed SSTable blocks are not supported")
    block = table[offset : offset + size]
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    records, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_size, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        records.append((key, block[pos : pos + value_size]))
        pos += value_size
    return records


def read_checkpoint(prefix: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a TensorFlow V2 checkpoint, by variable name.

    Parameters
    ----------
    prefix : path
        The checkpoint prefix (``.../model`` for ``model.index`` + ``model.data-00000-of-00001``).

    Returns
    -------
    dict of str to np.ndarray
        Each variable with its stored dtype and shape (read-only views of the data file).

    Raises
    ------
    LipcoachError
        Missing files, a damaged table, or a tensor type this reader does not know.
    """
    prefix = Path(prefix)
    index_path = prefix.with_name(prefix.name + ".index")
    try:
        table = index_path.read_bytes()
        if struct.unpack_from("<Q", table, len(table) - 8)[0] != TABLE_MAGIC:
            raise ValueError("not an SSTable (bad magic number)")
        pos = len(table) - 48
        _, pos = _varint(table, pos)  # metaindex handle (offset, size): unused
        _, pos = _varint(table, pos)
        index_offset, pos = _varint(table, pos)
        index_size, pos = _varint(table, pos)
        entries: dict[str, list] = {}
        for _, handle in _block_records(table, index_offset, index_size):
            block_offset, p = _varint(handle, 0)
            block_size, _ = _varint(handle, p)
            for key, value in _block_records(table, block_offset, block_size):
                if key:  # the empty key holds the bundle header
                    entries[key.decode("utf-8")] = _proto_fields(value)
    except (OSError, ValueError, IndexError, struct.error) as exc:
        raise LipcoachError(index_path, f"is not a readable TensorFlow checkpoint index ({exc})") from None
    tensors: dict[str, np.ndarray] = {}
    shards: dict[int, np.ndarray] = {}
    n_shards = 1 + max((value for fields in entries.values() for number, value in fields if number == 3), default=0)
    for name, fields in entries.items():
        entry = {number: value for number, value in fields if number != 2}
        dims = [dict(_proto_fields(dim)).get(1, 0) for number, shape in fields if number == 2
                for n, dim in _proto_fields(shape) if n == 2]
        dtype = DTYPES.get(entry.get(1, 0))
        if dtype is None:
            raise LipcoachError(index_path, f"holds {name!r} of TensorFlow type {entry.get(1)}, which this reader does not know")
        shard = entry.get(3, 0)
        if shard not in shards:
            data_path = prefix.with_name(f"{prefix.name}.data-{shard:05d}-of-{n_shards:05d}")
            try:
                shards[shard] = np.memmap(data_path, dtype=np.uint8, mode="r")
            except OSError as exc:
                raise LipcoachError(data_path, f"cannot be read ({exc.strerror})") from None
        offset, size = entry.get(4, 0), entry.get(5, 0)
        raw = shards[shard][offset : offset + size]
        if raw.size != size or size != int(np.prod(dims, dtype=np.int64)) * np.dtype(dtype).itemsize:
            raise LipcoachError(index_path, f"entry {name!r} does not fit its data file")
        tensors[name] = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(dims)
    return tensors
