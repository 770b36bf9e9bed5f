"""Chromosome lists as plink2 ``--chr`` and REGENIE ``--chr``/``--chrList`` take them.

``1-4, 22, X`` or ``chr1-chr4 chrX``: items separated by commas or spaces, ranges of numbered
chromosomes ``a-b`` (inclusive; ``X``=23, ``Y``=24, ``XY``=25, ``MT``=26 as plink2 numbers them, so
``20-X`` is 20, 21, 22, X). A ``chr`` prefix is ignored on both sides, and case too, so ``chr1``
selects a store whose contigs are named ``1`` and the other way round; ``M`` is ``MT``.
"""

from __future__ import annotations

import re

#: plink2's numbers for the non-numbered human chromosomes
NUMBERED = {"X": 23, "Y": 24, "XY": 25, "MT": 26}
_NAMES = {v: k for k, v in NUMBERED.items()}


def canonical(name: str) -> str:
    """A contig name without ``chr`` prefix, upper case, ``M`` as ``MT``, numbers without zeros:
    ``chr01`` -> ``1``, ``chrX`` -> ``X``, ``chrM`` -> ``MT``, ``23`` -> ``X``."""
    text = str(name).strip()
    if text[:3].lower() == "chr":
        text = text[3:]
    text = text.upper()
    if text == "M":
        return "MT"
    if text.isdigit():
        number = int(text)
        return _NAMES.get(number, str(number))
    return text


def _number(name: str) -> int | None:
    c = canonical(name)
    return int(c) if c.isdigit() else NUMBERED.get(c)


def parse_chromosomes(items: list[str]) -> set[str]:
    """The canonical names (:func:`canonical`) that ``items`` select; ValueError naming a bad item."""
    out: set[str] = set()
    for item in items:
        for token in re.split(r"[,\s]+", item.strip()):
            if not token:
                continue
            if "-" in token:
                lo, _, hi = token.partition("-")
                a, b = _number(lo), _number(hi)
                if a is None or b is None or a > b:
                    raise ValueError(f"{token!r} is not a range of numbered chromosomes (e.g. 1-22 or 20-X)")
                out.update(canonical(str(n)) for n in range(a, b + 1))
            else:
                out.add(canonical(token))
    if not out:
        raise ValueError("no chromosome named")
    return out


def contigs_selected(contig_ids: list[str], items: list[str]) -> list[int]:
    """Indexes of ``contig_ids`` that ``items`` select (a name matches whatever its prefix)."""
    wanted = parse_chromosomes(items)
    return [i for i, c in enumerate(contig_ids) if canonical(c) in wanted]
