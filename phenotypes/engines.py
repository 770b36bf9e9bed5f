"""The two engines behind :func:`phenotypes.pipeline.build_phenotypes`, with one interface.

* :class:`ColumnarEngine` (``spark=None``, the default of ``hubscan phenotypes``): in-process on
  polars, records streamed in batches, memory bounded by the code table, the persons and one
  bucket of events and of samples x traits (:mod:`phenotypes.columnar`).
* :class:`SparkEngine`: the records as Spark DataFrames, for clusters (``--spark-master``,
  ``--spark-conf`` or under ``spark-submit``).

Both apply the same rules and write the same bytes (``tests/phenotypes/test_engines.py``).
"""

from __future__ import annotations

import logging


class SparkEngine:
    name = "spark"

    def __init__(self, spark):
        self.spark = spark

    def crosswalk(self, config, scratch):
        from phenotypes.vocab.crosswalk import build_crosswalk

        return build_crosswalk(self.spark, config.crosswalk, config.sources if config.omop_crosswalk else [], scratch)

    def records(self, config, scratch, linkage_table, sample_ids, definitions):
        from phenotypes.sources import load_records

        return load_records(self.spark, config.sources, scratch, config.policy)

    def phecode_days(self, records, pmap, patient_rows, n, fallback, crosswalk):
        from phenotypes.phecodes.count import count_phecode_days

        return count_phecode_days(self.spark, records.events, pmap, patient_rows, n, fallback, crosswalk)

    def binary(self, records, binary, patient_rows, samples, crosswalk):
        from phenotypes.definitions.evaluate import evaluate_definitions

        return evaluate_definitions(self.spark, records.events, binary, patient_rows, samples, crosswalk)

    def quantitative(self, records, definitions, patient_rows, samples):
        from phenotypes.quantitative.traits import evaluate_measurements

        return evaluate_measurements(self.spark, records.events, definitions, patient_rows, samples)


class ColumnarEngine:
    name = "in-process"

    def crosswalk(self, config, scratch):
        from phenotypes.columnar.crosswalk import build_crosswalk

        return build_crosswalk(config.crosswalk, config.sources if config.omop_crosswalk else [], scratch)

    def records(self, config, scratch, linkage_table, sample_ids, definitions):
        from phenotypes.columnar import load_records_columnar
        from phenotypes.linkage import link_samples

        # the linked patients before the records are read (events of others are dropped while
        # streaming); the final linkage, with the patients the records know, is made afterwards
        quiet = logging.getLogger("phenotypes.linkage")
        level, quiet.disabled = quiet.disabled, True
        try:
            candidates = link_samples(linkage_table, sample_ids, config.linkage_duplicates, str(config.linkage))
        finally:
            quiet.disabled = level
        codes = set()
        if definitions is not None:
            codes = {(d.vocabulary, c) for d in definitions.quantitative for c in d.codes}
        return load_records_columnar(config.sources, scratch, config.policy, candidates.patient_rows(),
                                     len(sample_ids), codes)

    def phecode_days(self, records, pmap, patient_rows, n, fallback, crosswalk):
        from phenotypes.columnar.traits import count_phecode_days

        return count_phecode_days(records, pmap, patient_rows, n, fallback, crosswalk)

    def binary(self, records, binary, patient_rows, samples, crosswalk):
        from phenotypes.columnar.traits import evaluate_definitions

        return evaluate_definitions(records, binary, patient_rows, samples, crosswalk)

    def quantitative(self, records, definitions, patient_rows, samples):
        from phenotypes.columnar.traits import evaluate_measurements

        return evaluate_measurements(records, definitions, patient_rows, samples)


def engine_for(spark):
    """The Spark engine on ``spark``, or the in-process engine when ``spark`` is None."""
    return ColumnarEngine() if spark is None else SparkEngine(spark)

