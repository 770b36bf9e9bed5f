"""Quantitative traits from measurements: unit harmonisation (:mod:`.units`), plausibility limits,
per-person aggregation and the rank-based inverse normal transform (:mod:`.aggregate`)."""
