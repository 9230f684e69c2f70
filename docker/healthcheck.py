#!/usr/bin/env python3
"""Docker health check of the `web` container: gunicorn answers /healthz and reaches the database.

/healthz reports on every part of the node and answers 503 when any part fails. In the scaled
topology the worker and the MLLP and DICOM listeners run in containers of their own, so this
container counts as healthy when its own part works: the report comes back and its database check
passed. The request goes to 127.0.0.1, which ALLOWED_HOSTS must admit.
"""

import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('HTTP_PORT', '8080')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=8) as response:
            body = response.read()
    except urllib.error.HTTPError as failed:  # a 503 still carries the report
        body = failed.read()
    except OSError as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    try:
        database = json.loads(body)["checks"]["database"]
    except (ValueError, KeyError, TypeError):
        print(f"{url}: the answer is not a health report", file=sys.stderr)
        return 1
    print(json.dumps({"database": database}))
    return 0 if database.get("ok") is True else 1


if __name__ == "__main__":
    sys.exit(main())
