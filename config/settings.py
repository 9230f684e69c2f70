"""Django settings, every one read from the environment with the embedded default beside it."""

import secrets
import socket
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import dj_database_url

from lib.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # The embedded default keeps one random key under var/, so sessions survive a restart
    # without anyone having to invent a key; scaled deployments set SECRET_KEY.
    given = env_str("SECRET_KEY")
    if given:
        return given
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "organisations",
    "ops",
    "audit",
    "registry",
    "repository",
    "empi",
    "imaging",
    "fhir_api",
    "mllp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # ITI-19: who a client certificate on the HTTPS port belongs to, before anything is served.
    "organisations.middleware.ClientCertificateMiddleware",
    # The admin's CSS and JS, served by the web process itself: no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite under var/ by default, PostgreSQL when DATABASE_URL says so.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'hienode.sqlite3'}")
# Persistent connections, without a health check: the check is a `SELECT 1` before each request's
# first query. A connection the server has dropped fails one request, after which Django discards it.
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=False)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes write the same file: WAL lets readers go on while one writes, and
    # IMMEDIATE takes the write lock at BEGIN so two writers queue instead of deadlocking.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_SQLITE_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
# Whitenoise finds the admin's files in the installed apps: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Celery: a broker that needs no server by default (kombu's SQLAlchemy transport on a
# SQLite file); Redis or RabbitMQ when CELERY_BROKER_URL says so. Tasks always run in a worker.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
HEARTBEAT_SECONDS = env_int("HEARTBEAT_SECONDS", 15)

# --- Listeners. Plain ports for the demo; BIND_ADDRESS=0.0.0.0 to accept other machines.
BIND_ADDRESS = env_str("BIND_ADDRESS", "127.0.0.1")
HTTP_PORT = env_int("HTTP_PORT", 8080)
HTTPS_PORT = env_int("HTTPS_PORT", 8443)
MLLP_PORT = env_int("MLLP_PORT", 2575)
DICOM_PORT = env_int("DICOM_PORT", 11112)
DICOM_AE_TITLE = env_str("DICOM_AE_TITLE", "HIENODE")

# --- ITI-19 Authenticate Node (ITI TF-2 3.19): mutually authenticated TLS beside the plain ports.
# The node's certificate and key, and the CA that issues the affiliated organisations' client
# certificates. The TLS listeners (webtls, and a second port in mllp and dicom) run only when
# all three are set; which organisation holds a certificate is kept in the database.
TLS_CERT_FILE = env_str("TLS_CERT_FILE")
TLS_KEY_FILE = env_str("TLS_KEY_FILE")
TLS_CA_FILE = env_str("TLS_CA_FILE")
TLS_ENABLED = bool(TLS_CERT_FILE and TLS_KEY_FILE and TLS_CA_FILE)
MLLP_TLS_PORT = env_int("MLLP_TLS_PORT", 2576)
# PS3.15 B.1: DICOM's registered port for TLS connections.
DICOM_TLS_PORT = env_int("DICOM_TLS_PORT", 2762)

# --- SOAP (soap/): limits on what one request may bring.
SOAP_MAX_REQUEST_BYTES = env_int("SOAP_MAX_REQUEST_BYTES", 1024 * 1024 * 1024)
SOAP_MAX_ENVELOPE_BYTES = env_int("SOAP_MAX_ENVELOPE_BYTES", 32 * 1024 * 1024)
SOAP_MAX_PART_BYTES = env_int("SOAP_MAX_PART_BYTES", 512 * 1024 * 1024)
SOAP_MAX_PARTS = env_int("SOAP_MAX_PARTS", 1000)
SOAP_TEMP_DIR = Path(env_str("SOAP_TEMP_DIR", str(VAR_DIR / "tmp" / "soap")))
SOAP_ECHO_ENABLED = env_bool("SOAP_ECHO_ENABLED", False)

# --- MLLP (mllp/).
MLLP_MAX_MESSAGE_BYTES = env_int("MLLP_MAX_MESSAGE_BYTES", 1024 * 1024)
MLLP_MAX_CONNECTIONS = env_int("MLLP_MAX_CONNECTIONS", 256)
MLLP_IDLE_TIMEOUT = env_int("MLLP_IDLE_TIMEOUT", 300)
MLLP_SENDING_APPLICATION = env_str("MLLP_SENDING_APPLICATION", "HIENODE")
MLLP_SENDING_FACILITY = env_str("MLLP_SENDING_FACILITY", "HIE")

# --- DICOM (imaging/dicom/).
DICOM_MAX_PDU = env_int("DICOM_MAX_PDU", 131072)
# A peer's declared PDU length above this closes the association before the PDU is read.
DICOM_MAX_PDU_LENGTH = env_int("DICOM_MAX_PDU_LENGTH", 262144)
DICOM_MAX_ASSOCIATIONS = env_int("DICOM_MAX_ASSOCIATIONS", 32)
DICOM_STORAGE_DIR = Path(env_str("DICOM_STORAGE_DIR", str(VAR_DIR / "dicom" / "incoming")))
# An unfinished prefetch job that nothing has touched for this long has lost its task message (a
# broker without persistence, or down when the job was created): it is sent again. Longer than
# the longest wait between two runs (5 minutes of backoff) and a C-MOVE's silence (4 minutes).
PREFETCH_RESEND_SECONDS = env_int("PREFETCH_RESEND_SECONDS", 900)

# --- Document bytes (repository/store.py): files under var/documents/ by default;
# STORAGE_URL=s3://bucket[/prefix]?endpoint_url=http://host:9000&region=us-east-1 for S3-compatible
# object storage, its credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY as boto3 reads
# them; file:///folder for another folder.
STORAGE_URL = env_str("STORAGE_URL", (VAR_DIR / "documents").as_uri())


def _document_storage(url: str) -> dict[str, object]:
    """STORAGE_URL as a storage's backend and options (Django's STORAGES form)."""
    parts = urlsplit(url)
    if parts.scheme == "file" and not parts.netloc and not parts.query:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(BASE_DIR / unquote(parts.path))}}
    names = {"endpoint_url": "endpoint_url", "region": "region_name", "addressing_style": "addressing_style"}
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    # Credentials in the URL would end up in logs and process listings: they come from the environment.
    if parts.scheme == "s3" and parts.hostname and "@" not in parts.netloc and set(query) <= set(names):
        options = {"bucket_name": parts.netloc, "location": parts.path.strip("/"), "file_overwrite": True}
        return {"BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": options | {names[name]: value for name, value in query.items()}}
    raise ValueError("environment variable STORAGE_URL must be file:///folder or "
                     "s3://bucket[/prefix]?endpoint_url=...&region=...&addressing_style=...")


DOCUMENT_STORAGE = _document_storage(STORAGE_URL)

# --- XDS.b Document Registry (registry/).
# A stored query matching more objects than this answers XDSTooManyResults (ITI TF-2a 3.18.4.1.3).
REGISTRY_MAX_RESULTS = env_int("REGISTRY_MAX_RESULTS", 10000)
# A submission (ITI-42, ITI-57) carrying more registry objects than this is refused with
# XDSRegistryOutOfResources before it is validated (ITI TF-3 Table 4.2.4.1-2).
REGISTRY_MAX_SUBMISSION_OBJECTS = env_int("REGISTRY_MAX_SUBMISSION_OBJECTS", 5000)

# --- XDS.b Document Repository (repository/).
# This repository's repositoryUniqueId (ITI TF-3 4.2.3.2.18), and the community's homeCommunityId
# (ITI TF-3 4.2.3.2.12, urn:oid:...) when the exchange has one.
REPOSITORY_UNIQUE_ID = env_str("REPOSITORY_UNIQUE_ID", "1.3.6.1.4.1.21367.2005.3.7.1")
HOME_COMMUNITY_ID = env_str("HOME_COMMUNITY_ID")
# Stored bytes no committed submission names are removed once they are this old: longer than
# any upload takes, so a submission still being written is never touched.
REPOSITORY_ORPHAN_SECONDS = env_int("REPOSITORY_ORPHAN_SECONDS", 3600)

# --- ATNA (audit/): the audit record repository. Empty URL: the local audit table only.
AUDIT_SYSLOG_URL = env_str("AUDIT_SYSLOG_URL")  # tls://host:6514 or udp://host:514
AUDIT_SYSLOG_CA_FILE = env_str("AUDIT_SYSLOG_CA_FILE")
AUDIT_SYSLOG_CERT_FILE = env_str("AUDIT_SYSLOG_CERT_FILE")
AUDIT_SYSLOG_KEY_FILE = env_str("AUDIT_SYSLOG_KEY_FILE")
AUDIT_SYSLOG_TIMEOUT = env_int("AUDIT_SYSLOG_TIMEOUT", 10)
AUDIT_APP_NAME = env_str("AUDIT_APP_NAME", "hienode")
# AuditSourceID of every record (PS3.15 A.5.1); empty: the DICOM AE title.
AUDIT_SOURCE_ID = env_str("AUDIT_SOURCE_ID")
AUDIT_HOSTNAME = env_str("AUDIT_HOSTNAME", socket.gethostname())
AUDIT_FORWARD_SECONDS = env_int("AUDIT_FORWARD_SECONDS", 5)
# How often beat walks the whole hash chain and keeps the result for the console (daily).
AUDIT_VERIFY_SECONDS = env_int("AUDIT_VERIFY_SECONDS", 86400)
# Records per write to the audit repository; each write is followed by one probe of the session.
AUDIT_FORWARD_BATCH = env_int("AUDIT_FORWARD_BATCH", 1000)
# A forwarder that stops renewing (killed) keeps others out this long (> AUDIT_SYSLOG_TIMEOUT + a batch).
AUDIT_FORWARD_LEASE_SECONDS = env_int("AUDIT_FORWARD_LEASE_SECONDS", 120)
# The longest wait between two attempts while the audit repository is down or refuses the node.
AUDIT_FORWARD_MAX_BACKOFF_SECONDS = env_int("AUDIT_FORWARD_MAX_BACKOFF_SECONDS", 60)
# How long the TLS sender waits after each batch for the repository to object (a TLS 1.3 refusal).
AUDIT_SYSLOG_PROBE_TIMEOUT = float(env_str("AUDIT_SYSLOG_PROBE_TIMEOUT", "0.25"))

# --- The affinity domain the demo bootstrap creates (DESIGN.md, Identities).
AFFINITY_DOMAIN_AUTHORITY = env_str(
    "AFFINITY_DOMAIN_AUTHORITY", "IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"
)

# --- The FHIR R4 facade (fhir_api/): MHD, PIXm, PDQm, ImagingStudy, AuditEvent.
FHIR_PAGE_SIZE = env_int("FHIR_PAGE_SIZE", 50)  # a search page without _count
FHIR_PAGE_MAX = env_int("FHIR_PAGE_MAX", 500)  # _count above this is cut to it
# ITI-65 bundles carry their documents base64-encoded in the JSON: the largest body read.
FHIR_MAX_BODY_BYTES = env_int("FHIR_MAX_BODY_BYTES", 64 * 1024 * 1024)
# ImagingStudy.endpoint: a DICOMweb (WADO-RS) base URL, when the exchange runs one; the node's
# own RAD-69 endpoint is listed always.
DICOMWEB_BASE_URL = env_str("DICOMWEB_BASE_URL")
# An organisation identified by its TLS client certificate (ITI-19) gets these scopes; OAuth2
# clients get the scopes their FhirClient row allows. AuditEvent search is for auditors' clients.
FHIR_CERTIFICATE_SCOPES = env_str(
    "FHIR_CERTIFICATE_SCOPES",
    "system/DocumentReference.read system/DocumentReference.write system/List.read "
    "system/Binary.read system/Patient.read system/Patient.write system/ImagingStudy.read").split()
# How long a web process trusts a bearer token it has checked before it looks again (a revoked
# token or an organisation switched off is refused within this time). 0: look every time.
FHIR_TOKEN_CACHE_SECONDS = env_int("FHIR_TOKEN_CACHE_SECONDS", 5)
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"  # FhirClient's migration names it
OAUTH2_PROVIDER = {
    "SCOPES": {
        "system/DocumentReference.read": "find document references (ITI-67)",
        "system/DocumentReference.write": "provide document bundles (ITI-65)",
        "system/List.read": "find submission sets and folders (ITI-66)",
        "system/Binary.read": "retrieve documents (ITI-68)",
        "system/Patient.read": "query patients and identifiers (ITI-78, ITI-83)",
        "system/Patient.write": "feed patient identities (ITI-104)",
        "system/ImagingStudy.read": "find imaging studies",
        "system/AuditEvent.read": "search the audit trail (ITI-81)",
    },
    "DEFAULT_SCOPES": ["system/DocumentReference.read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("FHIR_TOKEN_SECONDS", 3600),
    # Each client gets the scopes its organisation's FhirClient row allows, no more.
    "SCOPES_BACKEND_CLASS": "fhir_api.oauth.ClientScopes",
    "PKCE_REQUIRED": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"no_hl7_fields": {"()": "lib.logfilters.NoPatientDataFromHl7"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["no_hl7_fields"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # pynetdicom's debug output dumps datasets, which carry patient data.
        "pynetdicom": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
    },
}
HEALTH_MIN_FREE_BYTES = env_int("HEALTH_MIN_FREE_BYTES", 512 * 1024 * 1024)
# Where /healthz reaches the listeners: loopback when they run beside web, a service name in compose.
HEALTH_MLLP_HOST = env_str("HEALTH_MLLP_HOST", "")
HEALTH_DICOM_HOST = env_str("HEALTH_DICOM_HOST", "")

# --- The EMPI's matcher (empi/): thresholds in match weight units (bits: log2 of the Bayes
# factor, the prior excluded). A record whose best candidate scores at or above
# EMPI_LINK_THRESHOLD joins that person; one between the two thresholds gets a person of its own
# and a review item for a data steward. With the untrained prior P(match) = 1e-4 (-13.3 bits),
# 20 bits is a posterior of about 99%; 6 is below the twin ceiling (8), so twins reach review.
EMPI_LINK_THRESHOLD = float(env_str("EMPI_LINK_THRESHOLD", "20"))
EMPI_REVIEW_THRESHOLD = float(env_str("EMPI_REVIEW_THRESHOLD", "6"))
