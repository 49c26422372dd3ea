"""TFRecord files written directly: length, masked CRC-32C, data, masked CRC.

The converter writes its shards itself (Beam's TFRecord sink numbers shards
from a random start, so reruns would differ). The framing is TFRecord's:

    uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)

all little-endian, with masked(crc) = ((crc >> 15 | crc << 17) + 0xa282ead8)
mod 2^32. CRC-32C comes from google-crc32c (C code). The file is written
under a temporary name and renamed when complete, so a killed writer leaves
no file that looks finished.
"""

import os
import struct
from typing import Iterable

import google_crc32c

_MASK_DELTA = 0xA282EAD8


def masked_crc(data: bytes) -> int:
  crc = google_crc32c.value(data)
  return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(record: bytes) -> bytes:
  length = struct.pack("<Q", len(record))
  return (length + struct.pack("<I", masked_crc(length)) + record +
          struct.pack("<I", masked_crc(record)))


def write_atomically(path: str, records: Iterable[bytes]) -> int:
  """Writes the records to `path` (temp name, then rename); returns count.

  Local files are fsynced before the rename; other file systems (gs://...)
  go through tf.io.gfile.
  """
  tmp = path + ".tmp"
  remote = "://" in path
  if remote:
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    f = tf.io.gfile.GFile(tmp, "wb")
  else:
    f = open(tmp, "wb")  # pylint: disable=consider-using-with
  n = 0
  with f:
    for record in records:
      f.write(frame(record))
      n += 1
    if not remote:
      f.flush()
      os.fsync(f.fileno())
  if remote:
    tf.io.gfile.rename(tmp, path, overwrite=True)
  else:
    os.replace(tmp, path)
  return n


def read_frames(path: str) -> Iterable[bytes]:
  """The records of a local file written with `frame`, checksums checked."""
  with open(path, "rb") as f:
    while True:
      header = f.read(12)
      if not header:
        return
      length, crc = struct.unpack("<QI", header)
      if len(header) != 12 or masked_crc(header[:8]) != crc:
        raise ValueError(f"{path}: corrupt record length")
      data, tail = f.read(length), f.read(4)
      if len(data) != length or struct.unpack("<I", tail)[0] != masked_crc(data):
        raise ValueError(f"{path}: corrupt record")
      yield data
