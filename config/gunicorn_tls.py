"""gunicorn settings for the `webtls` process: HTTPS with client certificates (ITI-19) on HTTPS_PORT.

The same workers as `web` (config/gunicorn.py), behind mutually authenticated TLS: the handshake
demands a certificate the exchange's CA issued (TLS_CA_FILE), with lib.tls's BCP 195 context;
organisations.middleware then says whose it is.
"""

import os
import ssl
from typing import Any

from config.gunicorn import (
    access_log_format,
    accesslog,
    control_socket_disable,
    graceful_timeout,
    limit_request_line,
    threads,
    timeout,
    workers,
)
from lib.tls import server_context

# The settings of `web`, re-exported: gunicorn reads this module's names.
__all__ = ["access_log_format", "accesslog", "control_socket_disable", "graceful_timeout",
           "limit_request_line", "threads", "timeout", "workers"]

certfile = os.environ.get("TLS_CERT_FILE", "")
keyfile = os.environ.get("TLS_KEY_FILE", "")
ca_certs = os.environ.get("TLS_CA_FILE", "")
if not (certfile and keyfile and ca_certs):
    raise SystemExit("webtls needs TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE (README, Configuration)")

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('HTTPS_PORT', '8443')}"
# ITI TF-2 3.19: no session without the client's certificate.
cert_reqs = ssl.CERT_REQUIRED
# gthread, auditing every refused handshake (110126 Node Authentication).
worker_class = "config.gunicorn_worker.AuthenticatingThreadWorker"

_context: ssl.SSLContext | None = None


def ssl_context(conf: Any, default_ssl_context_factory: Any) -> ssl.SSLContext:
    """lib.tls's context in place of gunicorn's default, so RFC 9325 (BCP 195) applies here too.

    gunicorn asks for a context per connection; one built once per worker serves them all.
    """
    global _context
    if _context is None:
        _context = server_context(cert_file=conf.certfile, key_file=conf.keyfile, ca_file=conf.ca_certs)
    return _context
