"""Specification of the tamper-evident audit log: sealed lines, the chain, rotation, failing closed."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config_server.audit import AuditLog
from config_server.audit_verify import genesis, link, seal, unseal, verify
from config_server.errors import InvalidConfiguration, Unavailable
from config_server.secret import Secret
from config_server.settings import Settings, SettingsError, load_settings

KEY = b"audit-test-key-0123456789abcdef"


async def write_log(path: Path, count: int, *, key: bytes = KEY) -> None:
    """Open (continuing any chain), record ``count`` read events, close."""
    audit = AuditLog(target=str(path), key=key)
    await audit.open()
    try:
        for n in range(count):
            await audit.record("read", principal="alice", application=f"app{n}", status=200)
    finally:
        await audit.close()


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONFIG_SERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "config_server", "audit", "verify", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
    )


# --- the line ---


async def test_a_line_has_the_fixed_fields_in_order_then_extras_then_prev_and_mac(tmp_path: Path) -> None:
    """Fixed fields first in their order, extras sorted, None left out, prev and mac last."""
    path = tmp_path / "audit.log"
    audit = AuditLog(target=str(path), key=KEY)
    await audit.open()
    await audit.record(
        "read",
        zone="eu",
        trace_id="00-abc-def-01",
        status=200,
        profiles=("prod", "eu"),
        principal="alice",
        label=None,
        auth="basic",
        extra=1,
    )
    await audit.close()
    (line,) = lines(path)
    fields = json.loads(line)
    assert list(fields) == [
        *("time", "seq", "event", "principal", "auth", "profiles", "status", "trace_id"),
        *("extra", "zone", "prev", "mac"),
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields["time"])
    assert (fields["seq"], fields["profiles"], fields["prev"]) == (1, ["prod", "eu"], genesis(KEY))
    assert unseal(KEY, line.rstrip(b"\n")) == fields


@pytest.mark.parametrize(
    "name", ["password", "db_password", "token", "X-Config-Token", "secret", "value", "api_key", "seq", "mac"]
)
async def test_a_field_that_could_carry_a_secret_or_is_reserved_is_refused(tmp_path: Path, name: str) -> None:
    """record refuses a field named like a password, token, secret, value or key, or a reserved one."""
    audit = AuditLog(target=str(tmp_path / "audit.log"), key=KEY)
    await audit.open()
    with pytest.raises(ValueError, match="reserved or could carry a secret"):
        await audit.record("read", **{name: "x"})
    await audit.close()
    assert (tmp_path / "audit.log").read_bytes() == b""


async def test_an_unknown_event_or_an_unserialisable_field_is_refused(tmp_path: Path) -> None:
    """record refuses an event not in EVENTS and a field JSON cannot carry."""
    audit = AuditLog(target=str(tmp_path / "audit.log"), key=KEY)
    await audit.open()
    with pytest.raises(ValueError, match="unknown audit event"):
        await audit.record("login")
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        await audit.record("read", principal=object())
    await audit.close()


async def test_concurrent_records_get_consecutive_seqs_and_one_chain(tmp_path: Path) -> None:
    """Many records at once (written in batches) make one unbroken chain, seq 1..N."""
    path = tmp_path / "audit.log"
    audit = AuditLog(target=str(path), key=KEY)
    await audit.open()
    await asyncio.gather(*(audit.record("read", status=n) for n in range(300)))
    await audit.close()
    assert [json.loads(line)["seq"] for line in lines(path)] == list(range(1, 301))
    result = verify([path], KEY)
    assert (result.ok, result.lines, result.anchored) == (True, 300, True)


async def test_standard_output_gets_a_chain_from_genesis(capfd: pytest.CaptureFixture[str]) -> None:
    """Target '-' writes the sealed lines to standard output, starting at seq 1."""
    audit = AuditLog(target="-", key=KEY)
    await audit.open()
    await audit.record("start")
    await audit.record("stop")
    await audit.close()
    out = capfd.readouterr().out.encode().splitlines()
    first, second = (unseal(KEY, line) for line in out)
    assert (first["seq"], first["prev"], second["prev"]) == (1, genesis(KEY), link(KEY, out[0]))


# --- verify: what is caught, and where ---


def _edit(rows: list[bytes]) -> list[bytes]:
    rows[2] = rows[2].replace(b'"status":200', b'"status":403')
    return rows


def _remove(rows: list[bytes]) -> list[bytes]:
    return rows[:2] + rows[3:]


def _swap(rows: list[bytes]) -> list[bytes]:
    return [rows[0], rows[2], rows[1], *rows[3:]]


def _cut(rows: list[bytes]) -> list[bytes]:
    return [*rows[:-1], rows[-1][:40]]


def _garbage(rows: list[bytes]) -> list[bytes]:
    return [*rows[:3], b"hello\n", *rows[3:]]


@pytest.mark.parametrize(
    ("tamper", "line", "reason"),
    [
        (_edit, 3, "bad mac"),
        (_remove, 3, "bad link"),
        (_swap, 2, "bad link"),
        (_cut, 5, "cut line"),
        (_garbage, 4, "not JSON"),
    ],
    ids=["edited", "removed", "swapped", "cut-last", "not-json"],
)
async def test_a_tampered_file_is_caught_at_the_right_line(
    tmp_path: Path, tamper: object, line: int, reason: str
) -> None:
    """An edited, removed, swapped, cut or foreign line is reported as FILE:LINE with why."""
    path = tmp_path / "audit.log"
    await write_log(path, 5)
    assert verify([path], KEY).ok
    path.write_bytes(b"".join(tamper(lines(path))))  # type: ignore[operator]
    result = verify([path], KEY)
    assert result.problem is not None
    assert (result.problem.path, result.problem.line) == (path, line)
    assert reason in result.problem.reason
    assert str(result.problem).startswith(f"{path}:{line}: ")


async def test_the_wrong_key_fails_on_the_first_line(tmp_path: Path) -> None:
    """Verifying with another key reports line 1: nobody without the key can check or rebuild it."""
    path = tmp_path / "audit.log"
    await write_log(path, 3)
    problem = verify([path], b"another key").problem
    assert problem is not None
    assert (problem.line, problem.reason.split(":")[0]) == (1, "bad mac")


def test_a_seq_gap_under_a_good_link_is_caught(tmp_path: Path) -> None:
    """A line whose link is right but whose seq skips is reported as a seq gap."""
    first = seal(KEY, {"seq": 1, "event": "start", "prev": genesis(KEY)})
    second = seal(KEY, {"seq": 3, "event": "stop", "prev": link(KEY, first)})
    path = tmp_path / "audit.log"
    path.write_bytes(first + b"\n" + second + b"\n")
    problem = verify([path], KEY).problem
    assert problem is not None
    assert (problem.line, problem.reason) == (2, "seq gap: expected 2, found 3")


def test_a_chain_start_must_be_seq_1_at_the_genesis_value(tmp_path: Path) -> None:
    """A first line at seq 1 must link to the genesis value, and a genesis link must be seq 1."""
    path = tmp_path / "audit.log"
    for seq, prev in ((1, link(KEY, b"x")), (5, genesis(KEY))):
        path.write_bytes(seal(KEY, {"seq": seq, "event": "start", "prev": prev}) + b"\n")
        problem = verify([path], KEY).problem
        assert problem is not None and problem.line == 1 and problem.reason.startswith(f"seq {seq} with")


# --- rotation and restarts ---


@pytest.mark.parametrize("signal_reopen", [False, True], ids=["moved", "moved-and-reopen"])
async def test_rotation_links_the_new_file_to_the_old_one(tmp_path: Path, signal_reopen: bool) -> None:
    """A logrotate move (seen by inode, or told by reopen()) starts a file linked to the old one."""
    path, old = tmp_path / "audit.log", tmp_path / "audit.log.1"
    audit = AuditLog(target=str(path), key=KEY)
    await audit.open()
    await audit.record("start")
    await audit.record("read", status=200)
    path.rename(old)
    path.touch()  # logrotate's "create": a new, empty file at the path at once
    if signal_reopen:
        audit.reopen()
    await audit.record("read", status=404)
    await audit.record("stop")
    await audit.close()
    assert (len(lines(old)), len(lines(path))) == (2, 2)
    both = verify([old, path], KEY)
    assert (both.ok, both.lines, both.files, both.last_seq) == (True, 4, 2, 4)
    alone = verify([path], KEY)
    assert (alone.ok, alone.anchored, alone.first_seq) == (True, False, 3)
    assert "from seq 3 (its link to older files was not checked)" in alone.summary()
    backwards = verify([path, old], KEY).problem
    assert backwards is not None
    assert (backwards.path, backwards.line, backwards.reason[:8]) == (old, 1, "a new ch")


async def test_a_restart_continues_the_chain_of_the_existing_file(tmp_path: Path) -> None:
    """Opening an existing file reads its last line: seq and the link continue."""
    path = tmp_path / "audit.log"
    await write_log(path, 2)
    await write_log(path, 2)
    assert [json.loads(line)["seq"] for line in lines(path)] == [1, 2, 3, 4]
    assert verify([path], KEY).ok


async def test_start_refuses_a_file_whose_last_line_is_cut_or_under_another_key(tmp_path: Path) -> None:
    """A cut last line, or one another key sealed, stops open() with InvalidConfiguration."""
    path = tmp_path / "audit.log"
    await write_log(path, 2)
    with pytest.raises(InvalidConfiguration, match="bad mac"):
        await AuditLog(target=str(path), key=b"another key").open()
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(InvalidConfiguration, match="last line is cut"):
        await AuditLog(target=str(path), key=KEY).open()


@pytest.mark.parametrize("where", ["missing-directory", "a-directory"])
async def test_start_refuses_a_path_that_cannot_be_a_log(tmp_path: Path, where: str) -> None:
    """A target in a missing directory, or that is a directory, stops open() naming the path."""
    path = tmp_path / "nowhere" / "audit.log" if where == "missing-directory" else tmp_path
    with pytest.raises(InvalidConfiguration, match=f"{re.escape(str(path))}: cannot open the audit log"):
        await AuditLog(target=str(path), key=KEY).open()


# --- failing closed, and recovering ---


async def test_a_removed_directory_fails_records_and_health_until_it_returns(tmp_path: Path) -> None:
    """With its directory gone, record raises Unavailable and health is DOWN; both recover."""
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "audit.log"
    audit = AuditLog(target=str(path), key=KEY, retry_interval=60)
    await audit.open()
    await audit.record("start")
    assert audit.health().status == "UP"
    shutil.rmtree(folder)
    with pytest.raises(Unavailable, match=rf"^audit log unavailable: cannot write {re.escape(str(path))}: "):
        await audit.record("read")
    health = audit.health()
    assert (health.name, health.status, health.essential) == ("audit", "DOWN", True)
    assert health.details["error"] == "No such file or directory"
    folder.mkdir()
    await audit.record("read")
    await audit.close()
    (line,) = lines(path)
    assert json.loads(line)["seq"] == 2  # the failed line took no seq: the chain has no hole


async def test_a_path_replaced_by_a_directory_fails_then_recovers(tmp_path: Path) -> None:
    """A path that became a directory fails records; once it is a file again the chain goes on."""
    path, aside = tmp_path / "audit.log", tmp_path / "audit.log.1"
    audit = AuditLog(target=str(path), key=KEY, retry_interval=60)
    await audit.open()
    await audit.record("start")
    path.rename(aside)
    path.mkdir()
    with pytest.raises(Unavailable, match="Is a directory"):
        await audit.record("read")
    assert audit.health().status == "DOWN"
    path.rmdir()
    await audit.record("stop")
    assert audit.health().status == "UP"
    await audit.close()
    assert verify([aside, path], KEY).ok


async def test_a_full_disk_fails_records_and_leaves_no_hole(tmp_path: Path) -> None:
    """Writes to a full device (/dev/full) raise Unavailable; later lines chain from the last good one."""
    path = tmp_path / "audit.log"
    path.symlink_to("/dev/full")
    audit = AuditLog(target=str(path), key=KEY, retry_interval=60)
    await audit.open()
    with pytest.raises(Unavailable, match="No space left on device"):
        await audit.record("start")
    assert audit.health().details["error"] == "No space left on device"
    path.unlink()
    await audit.record("start")
    await audit.close()
    result = verify([path], KEY)
    assert (result.ok, result.first_seq, result.anchored) == (True, 1, True)


async def test_health_comes_back_without_traffic(tmp_path: Path) -> None:
    """While DOWN, the writer's probe reopens the path and health is UP again with no record."""
    folder = tmp_path / "logs"
    folder.mkdir()
    audit = AuditLog(target=str(folder / "audit.log"), key=KEY, retry_interval=0.05)
    await audit.open()
    shutil.rmtree(folder)
    with pytest.raises(Unavailable):
        await audit.record("read")
    folder.mkdir()
    deadline = time.monotonic() + 5
    while audit.health().status == "DOWN" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert audit.health().status == "UP"
    await audit.close()


async def test_record_before_open_or_after_close_is_unavailable(tmp_path: Path) -> None:
    """A log that is not open fails records (closed) and reports DOWN."""
    audit = AuditLog(target=str(tmp_path / "audit.log"), key=KEY)
    with pytest.raises(Unavailable, match="not open"):
        await audit.record("start")
    await audit.open()
    await audit.close()
    with pytest.raises(Unavailable, match="not open"):
        await audit.record("stop")
    assert audit.health().status == "DOWN"


def test_from_settings_requires_the_key_with_the_log(tmp_path: Path) -> None:
    """--audit-log without --audit-key is a configuration error; neither means no log."""
    base = {"repo": "-"}
    assert AuditLog.from_settings(load_settings(base, environ={})) is None
    with pytest.raises(SettingsError, match="--audit-log needs --audit-key"):
        load_settings({**base, "audit_log": "-"}, environ={})
    with pytest.raises(InvalidConfiguration, match="--audit-key: required with --audit-log"):
        AuditLog.from_settings(Settings(repo="-", audit_log="-"))
    made = AuditLog.from_settings(
        load_settings({**base, "audit_log": "-", "audit_key": Secret("k")}, environ={})
    )
    assert made is not None and made.target == "-"


# --- the command ---


async def test_the_command_prints_a_summary_and_exits_0(tmp_path: Path) -> None:
    """audit verify over good files prints one summary line and exits 0 (key from a file)."""
    path = tmp_path / "audit.log"
    await write_log(path, 3)
    key_file = tmp_path / "key"
    key_file.write_text(KEY.decode() + "\n")
    done = await asyncio.to_thread(cli, "--audit-key-file", str(key_file), str(path))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "OK: 3 line(s) in 1 file(s), seq 1..3, from the first line ever\n"


async def test_the_command_names_the_first_bad_line_and_exits_1(tmp_path: Path) -> None:
    """audit verify names FILE:LINE and why on stderr and exits 1 (key from the environment)."""
    old, new = tmp_path / "a.log", tmp_path / "b.log"
    await write_log(old, 2)
    shutil.copy(old, new)  # the second file repeats the first: its line 1 does not link
    done = await asyncio.to_thread(cli, str(old), str(new), env={"CONFIG_SERVER_AUDIT_KEY": KEY.decode()})
    assert done.returncode == 1
    assert done.stderr.startswith(f"config-server: audit verify: {new}:1: a new chain starts here")


async def test_the_command_without_a_key_exits_2(tmp_path: Path) -> None:
    """audit verify with no key anywhere says how to give one and exits 2."""
    done = await asyncio.to_thread(cli, str(tmp_path / "audit.log"))
    assert done.returncode == 2
    assert "needs the log's key" in done.stderr
