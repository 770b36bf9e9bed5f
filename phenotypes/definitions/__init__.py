"""Custom phenotypes from a declarative YAML file (:mod:`phenotypes.definitions.spec`): code
lists with prefixes, CALIBER and OpenCodelists CSVs, inclusion and exclusion, age and date
windows, first-occurrence dates; evaluated by :mod:`phenotypes.definitions.evaluate`."""
