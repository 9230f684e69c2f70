"""The `mllp` process as the node runs it (the Procfile's line), spoken to over loopback."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from mllp.framing import END_OF_FRAME, frame
from tests.mllp.client import (
    MAXIMAL_FEED,
    connect,
    control_id,
    err3,
    exchange,
    msa,
    read_frame,
    unframe,
)
from tests.servers.node import ROOT, VENV_BIN, Node, procfile_commands
from tests.servers.process import ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAX_MESSAGE_BYTES = 1024 * 1024  # MLLP_MAX_MESSAGE_BYTES, as the node runs here


@pytest.fixture
def mllp(node: Node) -> Node:
    return node.start("mllp")


def hospital_a_message(control: str, *, padding: int = 0) -> bytes:
    return (
        f"MSH|^~\\&|HOSPA_HIS|HOSPA|HIENODE|HIE|20250101120000||ADT^A04^ADT_A01|{control}|P|2.5\r"
        "EVN||20250101120000\r"
        "PID|||A123^^^HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO^PI||DOE^JANE||19800101|F\r"
        f"NTE|1||{'x' * padding}\r"
    ).encode()


def test_the_maximal_feed_of_authorities_outside_the_domain_gets_an_application_error_naming_it(
        mllp: Node) -> None:
    feed = MAXIMAL_FEED.read_bytes()
    with connect(mllp.mllp_port) as sock:
        reply = exchange(sock, feed)
    assert msa(reply) == ("AE", control_id(feed))
    # ITI TF-2a 3.8.4.1.3: identifiers of no assigning authority the node knows (HL7 table 0357).
    assert err3(reply) == "204^Unknown key identifier^HL70357"


def test_a_message_type_no_route_takes_gets_an_application_error_naming_it(mllp: Node) -> None:
    result = (b"MSH|^~\\&|LAB|HOSPA|HIENODE|HIE|20250101120000||ORU^R01^ORU_R01|ORU-1|P|2.5\r"
              b"PID|||A123^^^HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO^PI||DOE^JANE\r")
    with connect(mllp.mllp_port) as sock:
        reply = exchange(sock, result)
    assert msa(reply) == ("AE", "ORU-1")
    assert err3(reply) == "200^Unsupported message type^HL70357"


def test_the_maximal_feed_sent_with_python_hl7s_mllp_send_gets_an_ack(mllp: Node) -> None:
    done = subprocess.run(
        [str(VENV_BIN / "mllp_send"), "--loose", "--file", str(MAXIMAL_FEED),
         "--port", str(mllp.mllp_port), "127.0.0.1"],
        capture_output=True, timeout=60, check=True,
    )
    reply = done.stdout.rstrip(b"\n")  # mllp_send prints the framed reply and a newline
    assert reply.startswith(b"\x0bMSH|") and reply.endswith(END_OF_FRAME)
    assert msa(unframe(reply)) == ("AE", control_id(MAXIMAL_FEED.read_bytes()))


def test_the_log_names_the_message_but_not_the_patient(mllp: Node) -> None:
    with connect(mllp.mllp_port) as sock:
        exchange(sock, MAXIMAL_FEED.read_bytes())
    deadline = time.monotonic() + 10
    while control_id(MAXIMAL_FEED.read_bytes()) not in mllp.processes["mllp"].output():
        assert time.monotonic() < deadline, "the exchange was not logged"
        time.sleep(0.1)
    log = mllp.processes["mllp"].output()
    assert "ADT^A01" in log
    for patient_data in ("WASHINGTON", "19771208", "PIX10515W3", "JORIE"):
        assert patient_data not in log


def test_a_garbage_frame_gets_an_application_reject(mllp: Node) -> None:
    with connect(mllp.mllp_port) as sock:
        reply = exchange(sock, bytes(range(256)).replace(b"\x0b", b"").replace(b"\x1c", b""))
    assert msa(reply) == ("AR", "")
    assert err3(reply).startswith("100^")


def test_an_empty_frame_gets_an_application_reject(mllp: Node) -> None:
    with connect(mllp.mllp_port) as sock:
        assert msa(exchange(sock, b"")) == ("AR", "")


def test_a_message_without_msh_gets_an_application_reject(mllp: Node) -> None:
    with connect(mllp.mllp_port) as sock:
        reply = exchange(sock, b"PID|||A123^^^HOSPA\rPV1||O\r")
    assert msa(reply) == ("AR", "")
    assert err3(reply) == "100^Segment sequence error^HL70357"


def test_a_10_mb_message_is_rejected_as_too_large_while_another_connection_is_served(
        mllp: Node) -> None:
    big = hospital_a_message("BIG-1", padding=10 * 1024 * 1024)
    with connect(mllp.mllp_port, timeout=60) as sender:
        sender.sendall(b"\x0b" + big[: len(big) // 2])
        with connect(mllp.mllp_port) as other:
            assert msa(exchange(other, hospital_a_message("SMALL-1"))) == ("AE", "SMALL-1")
        sender.sendall(big[len(big) // 2 :] + END_OF_FRAME)
        reply = read_frame(sender)
        assert msa(reply) == ("AR", "BIG-1")
        assert b"too large" in reply
        # The connection stays usable.
        assert msa(exchange(sender, hospital_a_message("AFTER-BIG"))) == ("AE", "AFTER-BIG")


def test_200_concurrent_connections_each_get_their_ack(mllp: Node) -> None:
    async def talk_to_all() -> list[tuple[str, str]]:
        connections = await asyncio.gather(*(
            asyncio.open_connection("127.0.0.1", mllp.mllp_port) for _ in range(200)
        ))
        try:
            for number, (_, writer) in enumerate(connections):
                writer.write(frame(hospital_a_message(f"C-{number}")))
            replies = await asyncio.wait_for(asyncio.gather(*(
                reader.readuntil(END_OF_FRAME) for reader, _ in connections
            )), timeout=120)
        finally:
            for _, writer in connections:
                writer.close()
        return [msa(unframe(reply)) for reply in replies]

    acks = asyncio.run(talk_to_all())
    assert acks == [("AE", f"C-{number}") for number in range(200)]


def test_after_all_bad_input_the_same_connection_still_answers_a_good_message(mllp: Node) -> None:
    with connect(mllp.mllp_port, timeout=60) as sock:
        sock.sendall(b"noise outside any block\r\n")
        assert msa(exchange(sock, b"\x00\xff\xfe garbage"))[0] == "AR"
        assert msa(exchange(sock, b""))[0] == "AR"
        assert msa(exchange(sock, b"PID|||A123\r"))[0] == "AR"
        assert msa(exchange(sock, b"MSH|^^|broken"))[0] == "AR"
        oversized = hospital_a_message("BIG-2", padding=MAX_MESSAGE_BYTES + 1)
        assert msa(exchange(sock, oversized)) == ("AR", "BIG-2")
        assert msa(exchange(sock, MAXIMAL_FEED.read_bytes().replace(b"\r", b"\r\n"))) == (
            "AE", control_id(MAXIMAL_FEED.read_bytes()))
    assert mllp.processes["mllp"].alive()


def test_a_connection_closed_in_the_middle_of_a_message_leaves_the_listener_serving(
        mllp: Node) -> None:
    with connect(mllp.mllp_port) as sock:
        sock.sendall(b"\x0b" + hospital_a_message("HALF-1")[:40])
    with connect(mllp.mllp_port) as sock:
        assert msa(exchange(sock, hospital_a_message("WHOLE-1"))) == ("AE", "WHOLE-1")


def test_the_listener_stops_cleanly_on_sigterm(node: Node, tmp_path: Path) -> None:
    port = free_port()
    process = ServerProcess(
        "mllp-sigterm", ["sh", "-c", f"exec {procfile_commands()['mllp']}"], log_dir=tmp_path,
        env={**node.env, "MLLP_PORT": str(port)}, cwd=ROOT,
    ).start().wait_for_port(port, timeout=90)
    try:
        with connect(port) as idle:
            assert msa(exchange(idle, hospital_a_message("BEFORE-STOP")))[0] == "AE"
            assert process.process is not None
            process.process.send_signal(signal.SIGTERM)
            assert process.process.wait(timeout=20) == 0
            assert idle.recv(1) == b""
    finally:
        process.stop()
    assert "MLLP listener stopped" in process.output()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
