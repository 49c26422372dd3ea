"""ELWC on the wire, with TensorFlow alone (no TF-Ranking, no TF Serving).

An `ExampleListWithContext` is, in protobuf wire format,

    field 1 (repeated, length-delimited): one serialized tf.train.Example per listing
    field 2 (length-delimited):           the context tf.train.Example

`encode` writes exactly those bytes (the same bytes TF Serving's `input_pb2`
produces: fields in number order). `parse` reads a batch of them in-graph:
`tf.io.decode_proto` splits each record with a two-field descriptor made
here (`repeated bytes examples = 1; bytes context = 2`, wire-identical to
ELWC), then `tf.io.parse_example` parses context and listings. Its output
is the one TF-Ranking's `parse_from_example_list` gives: context features
[B, 1], listing features [B, L, 1] padded with their defaults, and the
list mask [B, L]. So the model package reads ELWC on any TensorFlow 2 with
tf-keras, where TF-Ranking does not install (TF >= 2.16).
"""

from typing import Dict, Optional, Sequence

import tensorflow as tf

_MESSAGE = "seqmd.ElwcWire"


def _varint(value: int) -> bytes:
  out = bytearray()
  while True:
    byte = value & 0x7F
    value >>= 7
    if value:
      out.append(byte | 0x80)
    else:
      out.append(byte)
      return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
  return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def encode(context: Optional[tf.train.Example],
           examples: Sequence[tf.train.Example]) -> bytes:
  """Serialized ELWC of a context Example and listing Examples."""
  return encode_serialized(
      None if context is None else context.SerializeToString(),
      [e.SerializeToString() for e in examples])


def encode_serialized(context: Optional[bytes],
                      examples: Sequence[bytes]) -> bytes:
  """Serialized ELWC of already serialized Examples."""
  body = b"".join(_field(1, e) for e in examples)
  if context is not None:
    body += _field(2, context)
  return body


def _descriptor_source() -> bytes:
  from google.protobuf import descriptor_pb2  # pylint: disable=import-outside-toplevel
  files = descriptor_pb2.FileDescriptorSet()
  proto = files.file.add(name="seqmd_elwc_wire.proto", package="seqmd",
                         syntax="proto3")
  message = proto.message_type.add(name="ElwcWire")
  fd = descriptor_pb2.FieldDescriptorProto
  message.field.add(name="examples", number=1, type=fd.TYPE_BYTES,
                    label=fd.LABEL_REPEATED)
  message.field.add(name="context", number=2, type=fd.TYPE_BYTES,
                    label=fd.LABEL_OPTIONAL)
  return b"bytes://" + files.SerializeToString()


_DESCRIPTOR = _descriptor_source()


def split(serialized: tf.Tensor):
  """(lengths [B], context [B], listings [N]) of a [B] batch of serialized
  ELWC: the list lengths, each record's context Example (empty string when
  absent) and the real listings' Examples, flattened."""
  sizes, (examples, context) = tf.io.decode_proto(
      serialized, _MESSAGE, ["examples", "context"], [tf.string, tf.string],
      descriptor_source=_DESCRIPTOR)
  lengths = sizes[:, 0]
  context = tf.concat([context, tf.fill([tf.shape(context)[0], 1], "")],
                      1)[:, 0]
  listings = tf.boolean_mask(examples, tf.sequence_mask(
      lengths, tf.shape(examples)[1]))
  return lengths, context, listings


def parse(serialized: tf.Tensor,
          context_spec: Dict[str, tf.io.FixedLenFeature],
          example_spec: Dict[str, tf.io.FixedLenFeature],
          mask_feature: str, list_size: Optional[int] = None
          ) -> Dict[str, tf.Tensor]:
  """Parses a [B] batch of serialized ELWC.

  Returns context features [B, 1], listing features [B, L, 1] and
  `mask_feature` [B, L] (True for real listings). L is the longest list of
  the batch, or `list_size`: longer lists keep their first `list_size`
  listings, shorter ones are padded with the features' defaults.
  """
  serialized = tf.reshape(tf.convert_to_tensor(serialized, tf.string), [-1])
  sizes, (examples, context) = tf.io.decode_proto(
      serialized, _MESSAGE, ["examples", "context"], [tf.string, tf.string],
      descriptor_source=_DESCRIPTOR)
  lengths = sizes[:, 0]
  if list_size is None:  # decode_proto pads to at least one slot
    examples = examples[:, :tf.reduce_max(tf.concat([lengths, [0]], 0))]
  else:
    examples = examples[:, :list_size]
    pad = tf.maximum(list_size - tf.shape(examples)[1], 0)
    examples = tf.pad(examples, [[0, 0], [0, pad]])
    lengths = tf.minimum(lengths, list_size)
  batch, width = tf.shape(examples)[0], tf.shape(examples)[1]
  mask = tf.sequence_mask(lengths, width)
  # Padded slots are empty strings: parse_example gives them the defaults.
  examples = tf.where(mask, examples, "")
  flat = tf.io.parse_example(tf.reshape(examples, [-1]), example_spec)
  out = {name: tf.reshape(value, tf.concat(
      [[batch, width], list(example_spec[name].shape)], 0))
         for name, value in flat.items()}
  context = tf.concat([context, tf.fill([batch, 1], "")], axis=1)[:, 0]
  out.update(tf.io.parse_example(context, context_spec))
  out[mask_feature] = mask
  return out
