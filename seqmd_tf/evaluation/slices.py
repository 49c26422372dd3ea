"""The names of the traffic slices in metrics.json and every report: all
traffic, then each platform of the data, named by its value.

A platform whose value is a name the tables already use (the all-traffic
slice, the per-region entry) gets a name of its own instead of hiding, or
being hidden by, that entry. This module imports nothing, so the light
report code can use it without TensorFlow.
"""

ALL = "all"               # the slice of all traffic
BY_REGION = "by_region"   # the entry of per-region values beside the slices
_RESERVED = (ALL, BY_REGION)


def platform_slice(platform: str) -> str:
  """The slice name of a platform value: the value itself, or
  "<value> (platform)" for a value that is a reserved name.

  >>> platform_slice("web"), platform_slice("all")
  ('web', 'all (platform)')
  """
  return f"{platform} (platform)" if platform in _RESERVED else platform
