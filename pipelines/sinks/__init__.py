"""Output sinks: Parquet files for events and dead letters (Elasticsearch comes later)."""
