"""Minimal safetensors reader and writer (numpy only; no `safetensors` package needed).

Layout: u64 little-endian header length N, N bytes of JSON header (space-padded to a
multiple of 8), then the raw little-endian tensor bytes. Header entries map a tensor name to
{"dtype", "shape", "data_offsets": [begin, end]} relative to the data start; the optional
"__metadata__" entry maps strings to strings.
"""
import json
import os
import struct

import numpy as np

DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4")}
_NAME_OF = {dtype.newbyteorder("="): name for name, dtype in DTYPES.items()}
_HEADER_LIMIT = 100 * 1024 * 1024


def _as_numpy(tensor):
    """A torch tensor or array-like as a numpy array (torch is optional)."""
    if hasattr(tensor, "detach"):
        tensor = tensor.detach().cpu().numpy()
    return np.asarray(tensor)


def _dtype_name(array, name):
    try:
        return _NAME_OF[array.dtype.newbyteorder("=")]
    except KeyError:
        raise ValueError(f"tensor {name!r}: unsupported dtype {array.dtype} "
                         f"(supported: {', '.join(DTYPES)})") from None


def write_safetensors(path, tensors, metadata=None):
    """Write `tensors` (name -> numpy array or torch tensor) and string `metadata` to `path`.

    Writes `path + ".tmp"` and renames it into place, so an existing file is never damaged.
    Tensors are laid out 8-byte types first, then by name, so every tensor is aligned.
    """
    arrays = {name: _as_numpy(t) for name, t in tensors.items()}
    kinds = {name: _dtype_name(a, name) for name, a in arrays.items()}
    order = sorted(arrays, key=lambda n: (-DTYPES[kinds[n]].itemsize, n))

    header = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ValueError("metadata keys and values must be strings")
        header["__metadata__"] = dict(metadata)
    blobs, offset = [], 0
    for name in order:
        blob = np.ascontiguousarray(arrays[name], dtype=DTYPES[kinds[name]]).tobytes()
        header[name] = {"dtype": kinds[name], "shape": list(arrays[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)

    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def _parse_header(path, raw):
    """Return (header dict, data start) of the file bytes `raw`, validating the length prefix."""
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > min(_HEADER_LIMIT, len(raw) - 8):
        raise ValueError(f"{path}: header length {size} exceeds the file")
    header = json.loads(raw[8:8 + size].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header is not a JSON object")
    return header, 8 + size


def _read_tensor(path, name, entry, data):
    """Decode one header entry against the data section `data`."""
    dtype = DTYPES.get(entry.get("dtype"))
    if dtype is None:
        raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {entry.get('dtype')!r}")
    shape = tuple(entry["shape"])
    begin, end = entry["data_offsets"]
    if not 0 <= begin <= end <= len(data):
        raise ValueError(f"{path}: tensor {name!r} offsets [{begin}, {end}] outside the data")
    if end - begin != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise ValueError(f"{path}: tensor {name!r} byte size does not match shape {list(shape)}")
    return np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize,
                         offset=begin).reshape(shape).astype(dtype.newbyteorder("="))


def read_safetensors(path):
    """Read `path`; return (name -> numpy array, metadata dict of strings)."""
    with open(path, "rb") as f:
        raw = f.read()
    header, start = _parse_header(path, raw)
    metadata = header.pop("__metadata__", None) or {}
    data = memoryview(raw)[start:]
    tensors = {name: _read_tensor(path, name, entry, data) for name, entry in header.items()}
    return tensors, metadata
