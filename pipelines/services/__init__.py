"""Real servers the project starts for its demo and tests (Elasticsearch, later Kafka).

Each is fetched from the Maven registry with Maven, cached, and run on 127.0.0.1 only.
"""
