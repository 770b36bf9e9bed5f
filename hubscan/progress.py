"""Progress for long work: a periodic log line with count, rate and ETA.

Plain log lines rather than a redrawn bar, so output captured by Spark, CI or a
notebook stays readable.
"""

import logging
import time
from dataclasses import dataclass, field


@dataclass
class Progress:
    """Count units of work (variants, rows, parts...) and log at most every ``every_seconds``.

    >>> p = Progress("variants", total=1000)
    >>> p.advance(10)   # logs only when due
    >>> p.finish()      # always logs a closing line with the overall rate
    """

    unit: str
    total: int | None = None
    every_seconds: float = 10.0
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("hubscan.progress"))
    done: int = 0
    _start: float = field(default_factory=time.monotonic)
    _last: float = field(default_factory=time.monotonic)

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every_seconds:
            self._last = now
            self.logger.info(self.status())

    def status(self) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.done:,}"
        if self.total:
            pct = 100.0 * self.done / self.total
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            text += f"/{self.total:,} {self.unit} ({pct:.1f}%), {rate:,.0f}/s, ETA {_seconds(eta)}"
        else:
            text += f" {self.unit}, {rate:,.0f}/s"
        return text

    def finish(self) -> None:
        elapsed = time.monotonic() - self._start
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        self.logger.info(f"{self.done:,} {self.unit} in {_seconds(elapsed)} ({rate:,.0f}/s)")


def _seconds(s: float) -> str:
    if s == float("inf"):
        return "?"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m{sec:02d}s" if h else (f"{m}m{sec:02d}s" if m else f"{sec}s")
