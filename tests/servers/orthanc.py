"""A throwaway Orthanc: a real PACS on loopback, with its REST API and DICOM port."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers.process import ServerProcess, free_port, require_binary


@dataclass
class OrthancServer:
    ae_title: str
    dicom_port: int
    http_port: int
    process: ServerProcess
    config_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def rest(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> None:
        """Start it again on the same ports and storage, after `stop` (a PACS back from downtime)."""
        self.process.stop()
        self.process.start()
        self.process.wait_for_port(self.http_port)
        self.process.wait_for_port(self.dicom_port)


def start_orthanc(base: Path, *, ae_title: str = "ORTHANC",
                  modalities: dict[str, tuple[str, str, int]] | None = None,
                  extra_config: dict[str, object] | None = None,
                  ports: tuple[int, int] | None = None) -> OrthancServer:
    """Orthanc on free loopback ports, or on `ports` (HTTP, DICOM) when two PACSs must know each
    other's before either starts; `extra_config` adds configuration keys (e.g.
    "DicomAlwaysAllowGet") on top of the defaults below."""
    binary = require_binary("Orthanc", "/usr/sbin/Orthanc")
    storage = base / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port = ports or (free_port(), free_port())
    config = {
        "Name": ae_title,
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": ae_title,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpServerEnabled": True,
        "DicomServerEnabled": True,
        "DicomCheckCalledAet": False,
        "Plugins": [],
        "DicomModalities": {name: list(entry) for name, entry in (modalities or {}).items()},
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "StorageCompression": False,
        "DicomScuTimeout": 30,
        **(extra_config or {}),
    }
    config_path = base / "orthanc.json"
    config_path.write_text(json.dumps(config, indent=2))
    process = ServerProcess("orthanc", [binary, str(config_path)], log_dir=base,
                            env={"TCP_NODELAY": "1"}).start()
    process.wait_for_port(http_port)
    process.wait_for_port(dicom_port)
    return OrthancServer(ae_title=ae_title, dicom_port=dicom_port, http_port=http_port,
                         process=process, config_path=config_path)
