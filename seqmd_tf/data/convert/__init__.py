"""`seqmd convert`: users' search logs into sharded ELWC TFRecords.

Inputs: row-per-impression tables (Parquet, CSV, a pandas DataFrame) with a
query-group id column, or LibSVM / SVMlight learning-to-rank files with
`qid:` and graded labels. The rules (`pipeline.py`) read pieces of the
inputs (`sources.py`), check every row against `data_schema/` (`rows.py`;
`vector_rows.py` applies them to whole Arrow tables), group rows by query
id, check and encode each group (`groups.py`) and write the shards
themselves (`seqmd_tf/data/tfrecord_io.py`), so a rerun is byte-identical.
Two engines run them: the local one (`local.py`, DuckDB) and Apache Beam. Rejected rows go to `rejects/*.jsonl` with their
reason; the manifest, written last, reconciles rows in = rows written +
rows rejected.
"""
