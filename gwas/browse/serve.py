"""A small static server for a built site, on 127.0.0.1 only (local use; a hub's web team hosts the
folder on any static web server)."""

from __future__ import annotations

import functools
import logging
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger("gwas.browse")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)


def make_server(site: str | Path, port: int = 0) -> ThreadingHTTPServer:
    """A server for ``site`` bound to 127.0.0.1:``port`` (0 = any free port; see ``server_address``)."""
    handler = functools.partial(_Quiet, directory=str(site))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)
