"""TFRecord files written directly: length, masked CRC-32C, data, masked CRC.

The converter and the generator write their shards themselves (Beam's
TFRecord sink numbers shards from a random start, so reruns would differ;
TensorFlow is not needed to write). The framing is TFRecord's:

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


class AtomicWriter:
  """Records written to `path` under a temporary name; `close` renames it.

  Local files are fsynced before the rename; other file systems (gs://...)
  go through tf.io.gfile.
  """

  def __init__(self, path: str):
    self.path, self.tmp = path, path + ".tmp"
    self.remote = "://" in path
    if self.remote:
      import tensorflow as tf  # pylint: disable=import-outside-toplevel
      self.file = tf.io.gfile.GFile(self.tmp, "wb")
    else:
      self.file = open(self.tmp, "wb")  # pylint: disable=consider-using-with
    self.count = 0

  def write(self, record: bytes) -> None:
    self.file.write(frame(record))
    self.count += 1

  def close(self) -> int:
    """Completes the file; returns the number of records."""
    if not self.remote:
      self.file.flush()
      os.fsync(self.file.fileno())
    self.file.close()
    if self.remote:
      import tensorflow as tf  # pylint: disable=import-outside-toplevel
      tf.io.gfile.rename(self.tmp, self.path, overwrite=True)
    else:
      os.replace(self.tmp, self.path)
    return self.count


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
