"""The runtime: Java check, the one SparkSession builder, Hail on that same context."""
