"""gunicorn settings for the `web` process, read from the same environment as Django's."""

import os

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('HTTP_PORT', '8080')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
# gthread, with request heads read without holding a thread and a minimum request rate
# (config/gunicorn_worker.py): slow clients cannot take every thread. MTOM bodies stream.
worker_class = "config.gunicorn_worker.SlowClientThreadWorker"
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = int(os.environ.get("WEB_TIMEOUT", "300"))
graceful_timeout = 20
accesslog = "-"
# No query strings in the access log: they can carry patient identifiers.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
limit_request_line = 8190
# gunicorn's control socket sits in $HOME, shared by every node on the machine: not wanted.
control_socket_disable = True
