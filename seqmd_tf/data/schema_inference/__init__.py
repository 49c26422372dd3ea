"""`seqmd infer-schema`: a schema from a table of logs, with its reasons.

`profile` reads the table once (flat memory), `infer` decides each field,
`split` runs selector F on the profile's sample, `render` writes the schema,
the convert config and the summary. `pipelines/stages.infer_schema_stage`
puts them together.
"""

from seqmd_tf.data.schema_inference import libsvm
from seqmd_tf.data.schema_inference.infer import (TableRoles, ColumnDecision,
                                                  infer)
from seqmd_tf.data.schema_inference.profile import (InferenceError,
                                                    TableProfile,
                                                    profile_table)
