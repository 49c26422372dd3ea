"""`seqmd convert`: users' search logs into sharded ELWC TFRecords.

Inputs: row-per-impression tables (Parquet, CSV, a pandas DataFrame) with a
query-group id column, or LibSVM / SVMlight learning-to-rank files with
`qid:` and graded labels. The Apache Beam pipeline (`pipeline.py`) reads
pieces of the inputs (`sources.py`), checks every row against
`data_schema/` (`rows.py`), groups rows by query id, checks and encodes each
group (`groups.py`) and writes the shards itself (`tfrecord_io.py`), so a
rerun is byte-identical. Rejected rows go to `rejects/*.jsonl` with their
reason; the manifest, written last, reconciles rows in = rows written +
rows rejected.
"""
