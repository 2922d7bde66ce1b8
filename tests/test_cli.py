"""The ``aion-store`` command line: ``inspect``, ``convert``, ``conformance`` and ``bench``.

Through ``main(argv)`` (with capsys) for the content of what is printed, and through a
subprocess (``python -m aion_store.cli``) for exit statuses, the shape of stderr,
stdin/stdout, the console script and Ctrl-C. The histories are under
``tests/data/histories`` (see ``make_histories.py`` there).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import aion_store
from aion_store import (
    Event,
    conformance,
    from_json,
    from_msgpack,
    run_chain_from_history,
    search_attributes_from_events,
    to_json,
)
from aion_store.bench import WORKLOADS, Sizes, workloads_at
from aion_store.cli import _io, main
from aion_store.cli import bench as bench_cli
from aion_store.wire._json import format_timestamp, parse_timestamp

HISTORIES = Path(__file__).parent / "data" / "histories"
CHECKOUT = HISTORIES / "checkout.json"
REPO = Path(__file__).parent.parent

CHECKOUT_ID = "5f0c3a4e-8b1d-4c2a-9e3f-0a1b2c3d4e5f"
RUN_1 = "a1a1a1a1-0000-4000-8000-000000000001"
RUN_2 = "b2b2b2b2-0000-4000-8000-000000000002"
SHIPMENT = "c3c3c3c3-0000-4000-8000-000000000003"


def cli(
    *args: str | Path,
    input: bytes | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m aion_store.cli ARGS`` and capture its output as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "aion_store.cli", *map(str, args)],
        input=input,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[bytes]) -> str:
    """The single line a failed command printed on stderr (exit status 2)."""
    stderr = result.stderr.decode("utf-8")
    assert result.returncode == 2, (result.returncode, stderr)
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    return stderr.rstrip("\n")


def checkout_events() -> list[Event]:
    return from_json(CHECKOUT.read_text(encoding="utf-8"), list[Event])  # type: ignore[no-any-return]


def inspect_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(["inspect", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


# -- inspect ---------------------------------------------------------------------------------


def test_inspect_text_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(CHECKOUT)]) == 0
    out = capsys.readouterr().out
    for expected in (
        CHECKOUT_ID,
        "type      checkout",
        "status    Completed",
        "events    33 (seq 1-33)",
        "runs (2, oldest first)",
        f"1  {RUN_1}  -",
        f"2  {RUN_2}  {RUN_1}  Completed",
        "charge_card    3         2         Completed",
        "last error: Retryable: payment gateway timeout",
        "send_receipt  1         1         Failed",
        "timer:named:payment-confirmation  Cancelled",
        "OperationCompleted",
        "timer:anonymous:17",
        "timer:named:review-window  Fired",
        "TimedOut",
        "payment-confirmed",
        "expedite  " + SHIPMENT,
        "ship_order  Completed",
        'tags         KeywordList  ["gift", "express"]',
        'stage        String       "closed"',
        "shipped_at   Datetime     2024-05-01T13:00:00Z",
    ):
        assert expected in out, expected


def test_inspect_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    summary = inspect_json(capsys, str(CHECKOUT))
    events = checkout_events()
    assert summary["workflow_id"] == CHECKOUT_ID
    assert summary["workflow_type"] == "checkout"
    assert summary["status"] == "Completed"
    assert summary["events"] == 33
    # runs: SPEC §11's RunSummary form, the chain of run_chain_from_history.
    assert summary["runs"] == [json.loads(to_json(run)) for run in run_chain_from_history(events)]
    assert [run["status"] for run in summary["runs"]] == ["ContinuedAsNew", "Completed"]
    # activities, per run: ids restart at 0 in the second run.
    first, second = summary["activities"]
    assert first["run_id"] == RUN_1 and second["run_id"] == RUN_2
    by_id = {activity["activity_id"]: activity for activity in first["activities"]}
    assert by_id[0]["activity_type"] == "reserve_stock"
    assert (by_id[0]["attempts"], by_id[0]["failures"], by_id[0]["outcome"]) == (1, 0, "Completed")
    assert by_id[1]["activity_type"] == "charge_card"
    assert (by_id[1]["attempts"], by_id[1]["failures"], by_id[1]["outcome"]) == (3, 2, "Completed")
    assert by_id[1]["last_error"] == {"kind": "Retryable", "message": "payment gateway timeout"}
    [receipt] = second["activities"]
    assert (receipt["activity_id"], receipt["activity_type"]) == (0, "send_receipt")
    assert (receipt["attempts"], receipt["failures"], receipt["outcome"]) == (1, 1, "Failed")
    assert receipt["last_error"]["kind"] == "Terminal"
    # timers: state and the WithTimeoutCompleted outcome.
    timers_1 = {json.dumps(t["timer_id"]): t for t in summary["timers"][0]["timers"]}
    confirm = timers_1['{"Named": "payment-confirmation"}']
    assert (confirm["state"], confirm["with_timeout_outcome"]) == (
        "Cancelled",
        "OperationCompleted",
    )
    assert confirm["fire_at"] == "2024-05-01T12:10:17.300Z"
    cool_off = timers_1['{"Anonymous": 17}']
    assert (cool_off["state"], cool_off["with_timeout_outcome"]) == ("Fired", None)
    [review] = summary["timers"][1]["timers"]
    assert review["timer_id"] == {"Named": "review-window"}
    assert (review["state"], review["with_timeout_outcome"]) == ("Fired", "TimedOut")
    # signals received and sent.
    received = summary["signals"]["received"]
    assert [(s["name"], s["seq"], s["run_id"]) for s in received] == [
        ("payment-confirmed", 14, RUN_1),
        ("close", 31, RUN_2),
    ]
    assert received[0]["recorded_at"] == "2024-05-01T12:00:42.123456Z"
    [sent] = summary["signals"]["sent"]
    assert (sent["target_workflow_id"], sent["name"], sent["seq"]) == (SHIPMENT, "expedite", 20)
    # children.
    [child] = summary["children"]
    assert child["child_workflow_id"] == SHIPMENT
    assert (child["workflow_type"], child["outcome"], child["run_id"]) == (
        "ship_order",
        "Completed",
        RUN_1,
    )
    # search attributes: the merged values, in the serde form.
    merged = search_attributes_from_events(events)
    assert summary["search_attributes"] == {
        name: json.loads(to_json(value)) for name, value in merged.items()
    }
    assert summary["search_attributes"]["stage"] == {"type": "String", "data": "closed"}
    assert summary["search_attributes"]["items"] == {"type": "Int", "data": 3}
    assert summary["event_counts"]["ActivityStarted"] == 5


def test_inspect_reads_every_form_alike(capsys: pytest.CaptureFixture[str]) -> None:
    expected = inspect_json(capsys, str(CHECKOUT))
    for name in ("checkout.jsonl", "checkout.msgpack"):
        assert inspect_json(capsys, str(HISTORIES / name)) == expected
    # --from overrides the suffix
    assert inspect_json(capsys, str(HISTORIES / "checkout.jsonl"), "--from", "jsonl") == expected


@pytest.mark.parametrize("name", ["checkout.json", "checkout.jsonl", "checkout.msgpack"])
def test_inspect_reads_stdin(name: str) -> None:
    result = cli("inspect", "-", "--format", "json", input=(HISTORIES / name).read_bytes())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["workflow_id"] == CHECKOUT_ID


def test_inspect_running_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    summary = inspect_json(capsys, str(HISTORIES / "payment_running.json"))
    assert summary["status"] == "Running"
    assert summary["runs"][0]["closed_at"] is None
    [activity] = summary["activities"][0]["activities"]
    assert (activity["outcome"], activity["attempts"]) == ("Started", 1)
    [timer] = summary["timers"][0]["timers"]
    assert timer["state"] == "Pending"
    [child] = summary["children"]
    assert (child["outcome"], child["error"]) == ("Failed", "score service unavailable")


def test_inspect_truncates_nanoseconds(capsys: pytest.CaptureFixture[str]) -> None:
    summary = inspect_json(capsys, str(HISTORIES / "nanos.json"))
    assert summary["first_recorded_at"] == "2024-05-01T12:00:00.123456Z"
    assert summary["last_recorded_at"] == "2024-05-01T12:00:00.600999Z"


def test_inspect_limits_text_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(CHECKOUT), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "... 1 more (--limit 0 shows all" in out
    assert "reserve_stock" in out and "charge_card" not in out


# -- bad input: one line on stderr, naming the file and the position, exit 2 -------------------


BAD_HISTORIES = [
    ("bad_gap.json", "event[16] (seq 18): expected seq 17"),
    (
        "bad_two_owners.json",
        f"event[5] (seq 6): belongs to workflow {SHIPMENT}, not {CHECKOUT_ID}",
    ),
    ("bad_truncated.json", "event[3]: truncated input"),
    ("bad_not_utf8.json", "byte 165: invalid UTF-8"),
    ("bad_unknown_variant.json", 'event[2].type: unknown event variant "ActivityPaused"'),
    ("bad_syntax.json", "invalid JSON at line 1 column"),
    ("bad_field.json", 'event[4].data.envelope.seq: expected unsigned integer, got "5"'),
    ("bad_truncated.msgpack", "event[32] (byte 2063): truncated input (61 bytes"),
]


@pytest.mark.parametrize(("name", "message"), BAD_HISTORIES)
def test_inspect_bad_history(name: str, message: str) -> None:
    path = HISTORIES / name
    line = one_error_line(cli("inspect", path))
    assert line.startswith(f"{path}: ")
    assert message in line


@pytest.mark.parametrize(("name", "message"), BAD_HISTORIES)
def test_convert_bad_history_writes_nothing(name: str, message: str, tmp_path: Path) -> None:
    target = tmp_path / "out.msgpack"
    line = one_error_line(cli("convert", HISTORIES / name, target))
    assert message in line
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_bad_history_through_main(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(HISTORIES / "bad_gap.json")
    assert main(["inspect", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{path}: event[16] (seq 18): expected seq 17\n"


def test_debug_shows_the_traceback() -> None:
    result = cli("inspect", HISTORIES / "bad_gap.json", "--debug")
    stderr = result.stderr.decode()
    assert result.returncode == 2
    assert stderr.startswith("Traceback")
    assert stderr.rstrip().splitlines()[-1].endswith("event[16] (seq 18): expected seq 17")
    # --debug before the command works as well
    assert cli("--debug", "inspect", HISTORIES / "bad_gap.json").stderr.startswith(b"Traceback")


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def make_bad_inputs(tmp_path: Path) -> list[tuple[Path, str]]:
    """Bad inputs made on the fly: (file, what the error line must say)."""
    events = checkout_events()
    lines = CHECKOUT.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines(True)
    body = (HISTORIES / "checkout.msgpack").read_bytes()
    return [
        (tmp_path / "missing.json", "cannot read: No such file or directory"),
        (tmp_path, "is a directory"),
        (write(tmp_path, "empty.json", ""), "empty input, expected a JSON array of events"),
        (write(tmp_path, "empty.msgpack", b""), "empty input, expected the msgpack format"),
        (write(tmp_path, "no_events.json", "[]"), "empty history: there are no events"),
        (write(tmp_path, "object.json", to_json(events[0])), "expected a JSON array of events"),
        (write(tmp_path, "open.json", "[" + to_json(events[0])), "the array of events is not"),
        (write(tmp_path, "extra.json", to_json(events[:1]) + " x"), "extra data after the array"),
        (write(tmp_path, "nan.json", "[NaN]"), "NaN is not a JSON value"),
        (write(tmp_path, "number.json", "[5]"), "event[0]: expected event object"),
        (write(tmp_path, "cut.jsonl", "".join(lines[:3]) + lines[3][:50]), "line 4: event[3]"),
        (
            write(tmp_path, "bad.jsonl", "".join(lines[:2]) + "{oops}\n"),
            "line 3: event[2]: invalid JSON at column 2",
        ),
        (write(tmp_path, "bad_utf8.jsonl", lines[0].encode() + b"\xc3\x28\n"), "line 2: invalid"),
        (
            write(tmp_path, "gap.jsonl", "".join(lines[:4] + lines[5:])),
            "event[4] (seq 6): expected seq 5",
        ),
        (write(tmp_path, "starts_at_2.json", to_json(events[1:])), "event[0] (seq 2): expected"),
        (write(tmp_path, "version.msgpack", b"\x02" + body[1:]), "unsupported msgpack format"),
        (write(tmp_path, "garbage.msgpack", b"\x01\xc1"), "event[0] (byte 1): invalid msgpack"),
        (write(tmp_path, "wrong.msgpack", b"\x01\x93\x00\x01\x02"), "event[0]"),
        (write(tmp_path, "tag.msgpack", b"\x01\x94\x63\x01\x00\x00"), "unknown event variant"),
        (write(tmp_path, "unknown.txt", b"\x00\x01"), "cannot tell the form of this input"),
        (write(tmp_path, "json.msgpack", CHECKOUT.read_bytes()), "it looks like JSON"),
        (write(tmp_path, "two_roots.json", two_roots()), "run chain: run chain needs exactly one"),
    ]


def two_roots() -> str:
    """The checkout history with a second run that names no parent run."""
    items = json.loads(CHECKOUT.read_text(encoding="utf-8"))
    second = items[23]
    assert second["type"] == "WorkflowStarted"
    second["data"]["parent_run_id"] = None
    return json.dumps(items)


def test_inspect_more_bad_inputs(tmp_path: Path) -> None:
    for path, message in make_bad_inputs(tmp_path):
        line = one_error_line(cli("inspect", path))
        assert line.startswith(f"{path}: "), line
        assert message in line, (path.name, line)


def test_stdin_errors_name_stdin() -> None:
    line = one_error_line(cli("inspect", "-", input=b"[1,"))
    assert line.startswith("<stdin>: ")
    line = one_error_line(cli("convert", "-", "-", input=b"\x01\xc1"))
    assert line.startswith("<stdin>: event[0]")


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_positions_across_chunks(
    chunk: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event split over read chunks decodes; an error names the line and column."""
    monkeypatch.setattr(_io, "CHUNK", chunk)
    items = json.loads(CHECKOUT.read_text(encoding="utf-8"))
    pretty = json.dumps(items, indent=2, ensure_ascii=False)
    good = write(tmp_path, "pretty.json", pretty)
    expected = inspect_json(capsys, str(CHECKOUT))
    assert inspect_json(capsys, str(good)) == expected
    for name in ("checkout.jsonl", "checkout.msgpack"):
        assert inspect_json(capsys, str(HISTORIES / name)) == expected
    # remove the comma after the "seq" of event[20]
    marker = '"seq": 21,'
    broken = pretty.replace(marker, marker[:-1], 1)
    with pytest.raises(json.JSONDecodeError) as reference:
        json.loads(broken)
    bad = write(tmp_path, "broken.json", broken)
    assert main(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err
    line = f"line {reference.value.lineno} column {reference.value.colno}"
    assert err == f"{bad}: event[20]: invalid JSON at {line}: Expecting ',' delimiter\n"


# -- convert ---------------------------------------------------------------------------------


def test_convert_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packed, back, lines = tmp_path / "h.msgpack", tmp_path / "h.json", tmp_path / "h.jsonl"
    assert main(["convert", str(CHECKOUT), str(packed)]) == 0
    assert main(["convert", str(packed), str(back)]) == 0
    assert main(["convert", str(back), str(lines)]) == 0
    assert capsys.readouterr() == ("", "")
    # JSON -> msgpack -> JSON gives the input back, byte for byte (it is serde's form)
    assert back.read_bytes() == CHECKOUT.read_bytes()
    assert packed.read_bytes() == (HISTORIES / "checkout.msgpack").read_bytes()
    assert lines.read_bytes() == (HISTORIES / "checkout.jsonl").read_bytes()
    assert from_msgpack(packed.read_bytes(), list[Event]) == checkout_events()


def test_convert_to_overrides_the_suffix(tmp_path: Path) -> None:
    target = tmp_path / "history.bin"
    assert main(["convert", str(CHECKOUT), str(target), "--to", "msgpack"]) == 0
    assert target.read_bytes() == (HISTORIES / "checkout.msgpack").read_bytes()
    # an unknown suffix without --to is an error
    line = one_error_line(cli("convert", CHECKOUT, tmp_path / "history.txt"))
    assert line.startswith(f"{tmp_path / 'history.txt'}: cannot tell the output form")


def test_convert_truncates_to_microseconds(tmp_path: Path) -> None:
    source = HISTORIES / "nanos.json"
    packed, back = tmp_path / "n.msgpack", tmp_path / "n.json"
    assert main(["convert", str(source), str(packed)]) == 0
    assert main(["convert", str(packed), str(back)]) == 0

    def normalised(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: format_timestamp(parse_timestamp(item, key))
                if key == "recorded_at"
                else normalised(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [normalised(item) for item in value]
        return value

    original = json.loads(source.read_text(encoding="utf-8"))
    assert original[0]["data"]["envelope"]["recorded_at"].endswith(".123456789Z")
    result = json.loads(back.read_text(encoding="utf-8"))
    assert result[0]["data"]["envelope"]["recorded_at"] == "2024-05-01T12:00:00.123456Z"
    assert result == normalised(original)


def test_convert_stdin_to_stdout() -> None:
    packed = (HISTORIES / "checkout.msgpack").read_bytes()
    result = cli("convert", "-", "-", "--to", "msgpack", input=CHECKOUT.read_bytes())
    assert (result.returncode, result.stderr, result.stdout) == (0, b"", packed)
    # stdout without --to is JSON
    result = cli("convert", "-", "-", input=packed)
    assert (result.returncode, result.stdout) == (0, CHECKOUT.read_bytes())
    result = cli("convert", HISTORIES / "checkout.msgpack", "-", "--to", "jsonl")
    assert result.stdout == (HISTORIES / "checkout.jsonl").read_bytes()


def test_convert_replaces_its_input_safely(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_bytes(CHECKOUT.read_bytes())
    assert main(["convert", str(path), str(path)]) == 0
    assert path.read_bytes() == CHECKOUT.read_bytes()


def big_history(path: Path, count: int) -> None:
    """Write a JSON history of ``count`` events without building them (fast)."""
    workflow = CHECKOUT_ID
    payload = '{"content_type":"Json","bytes":[123,34,107,34,58,34,118,34,125]}'

    def envelope(seq: int) -> str:
        millis = seq % 1000
        seconds = seq // 1000
        stamp = f"2024-05-01T{seconds // 3600 % 24:02}:{seconds // 60 % 60:02}:{seconds % 60:02}"
        stamp += f".{millis:03}Z" if millis else "Z"
        return f'{{"seq":{seq},"recorded_at":"{stamp}","workflow_id":"{workflow}"}}'

    with path.open("w", encoding="utf-8") as out:
        out.write(
            '[{"type":"WorkflowStarted","data":{"envelope":' + envelope(1) + ',"workflow_type":'
            '"big","input":' + payload + ',"run_id":"' + RUN_1 + '","parent_run_id":null,'
            '"package_version":"v1"}}'
        )
        for seq in range(2, count + 1):
            kind = seq % 4
            activity = seq // 4
            if kind == 2:
                body = (
                    f'"ActivityScheduled","data":{{"envelope":{envelope(seq)},"activity_id":'
                    f'{activity},"activity_type":"work","input":{payload}}}'
                )
            elif kind == 3:
                body = (
                    f'"ActivityStarted","data":{{"envelope":{envelope(seq)},"activity_id":'
                    f"{activity}}}"
                )
            elif kind == 0:
                body = (
                    f'"ActivityCompleted","data":{{"envelope":{envelope(seq)},"activity_id":'
                    f'{activity - 1},"result":{payload}}}'
                )
            else:
                body = (
                    f'"SignalReceived","data":{{"envelope":{envelope(seq)},"name":"tick",'
                    f'"payload":{payload}}}'
                )
            out.write(',{"type":' + body + "}")
        out.write("]")


PEAK_RSS = textwrap.dedent(
    """
    import resource, subprocess, sys
    result = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sys.stderr.buffer.write(result.stderr)
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(result.returncode, kib * (1 if sys.platform != "darwin" else 1 / 1024))
    """
)


def peak_rss_mib(*args: str | Path) -> float:
    """Run the CLI in a fresh process and return its peak resident set size in MiB."""
    command = [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "aion_store.cli"]
    result = subprocess.run(
        [*command, *map(str, args)], capture_output=True, timeout=120, check=False
    )
    status, kib = result.stdout.split()
    assert int(status) == 0, result.stderr
    return float(kib) / 1024


def test_200k_events_stream_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "big.json"
    big_history(source, 200_000)
    assert source.stat().st_size > 40_000_000
    assert peak_rss_mib("inspect", source, "--format", "json") < 512
    packed = tmp_path / "big.msgpack"
    assert peak_rss_mib("convert", source, packed) < 512
    # what was written is the same history
    result = cli("inspect", packed, "--format", "json")
    summary = json.loads(result.stdout)
    assert (summary["events"], summary["workflow_type"]) == (200_000, "big")
    assert len(summary["signals"]["received"]) == 49_999


# -- conformance -----------------------------------------------------------------------------


def test_conformance_in_memory_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "aion_store:InMemoryStore"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [scenario.name for scenario in conformance.scenarios()]
    assert len(lines) == len(names) + 1
    assert [line.split()[1] for line in lines[:-1]] == names
    assert all(line.startswith("pass  ") for line in lines[:-1])
    assert lines[-1].startswith(f"aion_store:InMemoryStore: {len(names)} passed in ")


BACKENDS = '''
import asyncio

from aion_store import InMemoryStore


class ReversedReads(InMemoryStore):
    """Broken: read_history returns the events newest first."""

    async def read_history(self, workflow_id):
        return list(reversed(await super().read_history(workflow_id)))


class HistoriesOnly:
    """An EventStore that is not a VisibilityStore (delegates to InMemoryStore)."""

    def __init__(self):
        self._store = InMemoryStore()
        for name in (
            "append", "read_history", "read_history_from", "read_run_chain",
            "list_workflow_ids", "list_active", "query", "schedule_timer", "expired_timers",
            "put_package", "list_packages", "delete_package", "put_package_route",
            "list_package_routes",
        ):
            setattr(self, name, getattr(self._store, name))


def broken():
    return ReversedReads()


async def make_async():
    await asyncio.sleep(0)
    return InMemoryStore()


def raising():
    raise RuntimeError("no database at localhost:5432")


class Factories:
    make = staticmethod(make_async)


not_callable = 42


def returns_none():
    return None


def returns_int():
    return 42


async def returns_int_async():
    return 7


def returns_object():
    return object()


def returns_class():
    return InMemoryStore


def exits():
    raise SystemExit(3)


def exits_with_text():
    raise SystemExit("no backend configured")
'''


@pytest.fixture
def backends(tmp_path: Path) -> Path:
    (tmp_path / "my_backends.py").write_text(BACKENDS, encoding="utf-8")
    (tmp_path / "import_fails.py").write_text("raise ImportError('no driver')\n", "utf-8")
    return tmp_path


def test_conformance_imports_from_the_current_directory(backends: Path) -> None:
    for factory in ("my_backends:make_async", "my_backends:Factories.make"):
        result = cli("conformance", factory, cwd=backends)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr == b""
        assert b"FAIL" not in result.stdout


def test_conformance_reports_failures_with_their_rule(backends: Path) -> None:
    result = cli("conformance", "my_backends:broken", cwd=backends)
    out = result.stdout.decode("utf-8")
    assert result.returncode == 1, out
    failures = [line for line in out.splitlines() if line.startswith("FAIL  ")]
    assert failures
    first = failures[0]
    assert "append_then_read_round_trip" in first
    rule = next(s.rule for s in conformance.scenarios() if s.name == "append_then_read_round_trip")
    assert rule in first
    assert "failed" in out.splitlines()[-1]
    # -x stops at the first failure
    result = cli("conformance", "my_backends:broken", "-x", cwd=backends)
    assert result.returncode == 1
    assert result.stdout.decode().count("FAIL  ") == 1


def test_conformance_skips_visibility_for_an_event_store_only(backends: Path) -> None:
    result = cli("conformance", "my_backends:HistoriesOnly", cwd=backends)
    out = result.stdout.decode("utf-8")
    assert result.returncode == 0, out
    visibility = [s.name for s in conformance.scenarios() if s.requires == "visibility"]
    assert visibility
    assert out.count("skip  ") == len(visibility)


def test_conformance_keyword(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "aion_store:InMemoryStore", "-k", "conflict"]) == 0
    lines = capsys.readouterr().out.splitlines()[:-1]
    assert lines and all("conflict" in line for line in lines)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("no_such_module:make", "cannot import module 'no_such_module'"),
        ("my_backends:nothing", "'my_backends' has no attribute 'nothing'"),
        ("my_backends:not_callable", "not a callable store factory"),
        ("my_backends", "expected MODULE:FACTORY"),
        ("my_backends:raising", "the factory raised RuntimeError: no database at localhost"),
        ("import_fails:make", "importing 'import_fails' failed: ImportError: no driver"),
    ],
)
def test_conformance_bad_factory(backends: Path, factory: str, message: str) -> None:
    line = one_error_line(cli("conformance", factory, cwd=backends))
    assert line.startswith(f"{factory}: ")
    assert message in line


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("my_backends:returns_none", "the factory returned None, not a store"),
        ("my_backends:returns_int", "the factory returned an int, not a store"),
        ("my_backends:returns_int_async", "the factory returned an int, not a store"),
        ("my_backends:returns_object", "the factory returned an object, not a store"),
        ("my_backends:returns_class", "the factory returned the class InMemoryStore (call it"),
        ("my_backends:exits", "the factory raised SystemExit: 3"),
        ("my_backends:exits_with_text", "the factory raised SystemExit: no backend configured"),
        ("my_backends:not_callable", "'not_callable' is an int, not a callable store factory"),
    ],
)
def test_conformance_factory_that_makes_no_store(
    backends: Path, factory: str, message: str
) -> None:
    """Anything but an EventStore, and SystemExit, is exit 2 with one line, before any
    scenario runs."""
    result = cli("conformance", factory, cwd=backends)
    assert one_error_line(result).startswith(f"{factory}: {message}")
    assert result.stdout == b""  # no scenario ran


# -- bench -----------------------------------------------------------------------------------

TINY = [
    "--quick",
    "--samples=1",
    "--workflows=12",
    "--events-per-workflow=14",
    "--short-history=30",
    "--long-history=300",
    "--tail-appends=10",
    "--small-history=60",
    "--big-history=500",
    "--suffix=10",
    "--timers=1000",
    "--due-timers=7",
    "--active-workflows=40",
    "--mixed-workflows=16",
    "--poll-every=10",
    "--list-active-every=40",
    "--memory-workflows=4",
    "--memory-events=12",
    "--durable-appends=40",
    "--plain",
]


def tiny_sizes() -> Sizes:
    """The sizes the TINY flags set."""
    fields = {field.name for field in dataclasses.fields(Sizes)}
    overrides = {}
    for flag in TINY:
        name, _, value = flag.removeprefix("--").partition("=")
        if name.replace("-", "_") in fields:
            overrides[name.replace("-", "_")] = int(value)
    return Sizes.quick().with_(**overrides)


#: The workloads of a TINY run, by their ids at those sizes.
TINY_WORKLOADS = workloads_at(tiny_sizes())


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One tiny run of every workload on every store, shared by the bench tests."""
    path = tmp_path_factory.mktemp("bench") / "results.json"
    # The memory and sqlite families only: the postgres family is test_bench's.
    env = {name: value for name, value in os.environ.items() if name != "AION_STORE_POSTGRES_DSN"}
    result = cli("bench", *TINY, "--json", path, env=env)
    assert result.returncode == 0, result.stderr
    return path, result.stdout.decode("utf-8")


def test_bench_json_shape(bench_run: tuple[Path, str]) -> None:
    path, table = bench_run
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"version", "machine", "workloads"}
    assert isinstance(data["version"], str) and isinstance(data["machine"], dict)
    assert data["machine"]["sizes"] == dataclasses.asdict(tiny_sizes())
    assert set(data["workloads"]) == set(TINY_WORKLOADS)
    for workload_id, entry in data["workloads"].items():
        assert set(entry) == {"unit", "stores"}
        workload = TINY_WORKLOADS[workload_id]
        assert entry["unit"] == workload.unit
        # every available store ran, both families
        family = (
            {"sqlite", "sqlite_floor"}
            if workload.id.startswith(("durable", "disk"))
            else {
                "pure",
                "naive",
            }
        )
        assert family <= set(entry["stores"]), workload_id
        assert ("sqlite" in entry["stores"]) == ("sqlite" in workload.stores)
        assert set(entry["stores"]) <= set(workload.stores)
        for stats in entry["stores"].values():
            assert set(stats) == {"median", "min", "max", "samples"}
            assert 0 < stats["min"] <= stats["median"] <= stats["max"]
            assert stats["samples"] == 1
        assert workload_id in table
    assert "naive" in table and "pure \N{MULTIPLICATION SIGN}" in table
    # a table per family, each with its reference's ratios
    assert table.startswith("memory: in memory; 'store \N{MULTIPLICATION SIGN}' = naive / store\n")
    assert (
        "\nsqlite: " in table and "'store \N{MULTIPLICATION SIGN}' = sqlite_floor / store" in table
    )
    assert "sqlite \N{MULTIPLICATION SIGN}" in table
    assert data["machine"]["sqlite"]["version"]


def test_bench_load_prints_the_table_and_markdown(
    bench_run: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = bench_run
    assert main(["bench", "--load", str(path), "--plain"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("memory: in memory")
    assert all(workload_id in out for workload_id in TINY_WORKLOADS)
    assert main(["bench", "--load", str(path), "--markdown"]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("**memory: in memory")
    # a table per family: a header row each, and a row per workload measured in it
    rows = sum(1 for workload in WORKLOADS.values() if "naive" in workload.stores)
    rows += sum(1 for workload in WORKLOADS.values() if "sqlite" in workload.stores)
    assert markdown.count("| workload |") == 2
    assert sum(line.startswith("| ") for line in markdown.splitlines()) == rows + 2


def test_bench_without_rich(
    bench_run: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # as if it were not installed
    path, _ = bench_run
    assert main(["bench", "--load", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("memory: ") and "─" not in out


def regressed_copy(source: Path, target: Path, factor: float) -> None:
    """An 'earlier run' whose medians were ``factor`` times the ones of ``source``."""
    data = json.loads(source.read_text(encoding="utf-8"))
    for entry in data["workloads"].values():
        for stats in entry["stores"].values():
            for key in ("median", "min", "max"):
                stats[key] *= factor
    target.write_text(json.dumps(data), encoding="utf-8")


def test_bench_compare_detects_a_regression(bench_run: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = bench_run
    faster = tmp_path / "faster.json"
    regressed_copy(path, faster, 0.5)  # the earlier run was twice as fast
    result = cli("bench", "--load", path, "--compare", faster, "--plain")
    assert result.returncode == 1
    assert b"REGRESSION" in result.stdout and b"+100.0%" in result.stdout
    assert b"regressions (more than 20% slower)" in result.stderr
    # a threshold above the change passes, and so does a run compared with itself
    assert cli("bench", "--load", path, "--compare", faster, "--fail-over", "150%").returncode == 0
    assert cli("bench", "--load", path, "--compare", path).returncode == 0
    # measuring now against a much faster earlier run fails too
    very_fast = tmp_path / "very_fast.json"
    regressed_copy(path, very_fast, 1e-6)
    workloads = "--workloads=append_many,list_active"
    result = cli("bench", *TINY, "--stores=naive", workloads, "--compare", very_fast)
    assert result.returncode == 1, result.stderr
    assert b"append_many on naive" in result.stderr


def test_bench_plot(bench_run: tuple[Path, str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path, _ = bench_run
    png = tmp_path / "speedup.png"
    assert main(["bench", "--load", str(path), "--plot", str(png), "--plain"]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")


def test_bench_plot_without_matplotlib(
    bench_run: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    path, _ = bench_run
    png = tmp_path / "speedup.png"
    assert main(["bench", "--load", str(path), "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--plot needs matplotlib" in err
    assert not png.exists()


def test_bench_json_to_stdout(bench_run: tuple[Path, str]) -> None:
    path, _ = bench_run
    result = cli("bench", "--load", path, "--json", "-", "--plain")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads(path.read_text(encoding="utf-8"))
    assert b"workload" in result.stderr  # the table went to stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--stores", "compiled,mongo"], "--stores: unknown store 'mongo'"),
        (["--workloads", "append_all"], "--workloads: unknown workload 'append_all'"),
        (["--compare", "missing.json"], "missing.json: cannot read"),
        (["--load", "missing.json"], "missing.json: cannot read"),
        (["--fail-over", "10%"], "--fail-over needs --compare"),
    ],
)
def test_bench_bad_arguments(arguments: list[str], message: str, tmp_path: Path) -> None:
    line = one_error_line(cli("bench", *arguments, cwd=tmp_path))
    assert message in line


def test_bench_bad_compare_file(tmp_path: Path) -> None:
    broken = write(tmp_path, "old.json", '{"workloads": {"append_many": {"unit": "s", "stores": ')
    line = one_error_line(cli("bench", "--compare", broken, *TINY))
    assert line.startswith(f"{broken}: invalid JSON at line 1 column")
    shaped = write(
        tmp_path, "shape.json", '{"workloads": {"a": {"unit": "s", "stores": {"x": {}}}}}'
    )
    line = one_error_line(cli("bench", "--load", shaped))
    assert line == f"{shaped}: workloads.a.stores.x.median: expected a non-negative number"


# -- bench: everything wrong with the arguments is found before measuring -------------------


def refused_before_measuring(result: subprocess.CompletedProcess[bytes]) -> str:
    """The one error line of a bench run that measured nothing (no progress line)."""
    line = one_error_line(result)
    assert not line.startswith("["), line
    assert result.stdout == b""
    return line


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--plot", "speedup"], "speedup: --plot needs a suffix naming the image format"),
        (["--plot", "."], ".: --plot names a directory"),
        (["--plot", "missing/chart.png"], "missing/chart.png: --plot: no such directory: missing"),
        (["--json", "missing/results.json"], "missing/results.json: --json: no such directory"),
        (["--json", "."], ".: --json names a directory"),
        (["--json", "results/x.json"], "results/x.json: --json: no such directory: results"),
    ],
)
def test_bench_checks_destinations_before_measuring(
    arguments: list[str], message: str, tmp_path: Path
) -> None:
    line = refused_before_measuring(cli("bench", *TINY, *arguments, cwd=tmp_path))
    assert line.startswith(message), line
    assert list(tmp_path.iterdir()) == []  # neither speedup nor speedup.png


def test_bench_plot_formats_are_checked_before_measuring(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    line = refused_before_measuring(cli("bench", *TINY, "--plot", "chart.xyz", cwd=tmp_path))
    assert line.startswith("chart.xyz: --plot cannot save .xyz images; matplotlib saves ")
    assert ".png" in line and ".svg" in line and ".pdf" in line
    assert list(tmp_path.iterdir()) == []


def test_bench_plot_writes_the_named_file(bench_run: tuple[Path, str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path, _ = bench_run
    for name in ("chart.svg", "chart.PDF"):
        result = cli("bench", "--load", path, "--plot", tmp_path / name, "--plain")
        assert result.returncode == 0, result.stderr
        assert f"wrote {tmp_path / name}" in result.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.PDF", "chart.svg"]
    assert (tmp_path / "chart.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert (tmp_path / "chart.PDF").read_bytes().startswith(b"%PDF")


def test_bench_compare_refuses_other_sizes(bench_run: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = bench_run
    # a measuring run: refused before measuring, naming the file and the sizes
    line = refused_before_measuring(cli("bench", *TINY, "--big-history=600", "--compare", path))
    assert line.startswith(f"{path}: measured at other sizes than this run")
    assert "--big-history 500 vs 600" in line
    assert "--workflows" not in line  # only the sizes that differ
    # --load compared with --compare: the same rule, naming both files
    other = tmp_path / "other.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["machine"]["sizes"]["timers"] = 2_000
    other.write_text(json.dumps(data), encoding="utf-8")
    line = one_error_line(cli("bench", "--load", other, "--compare", path))
    assert line.startswith(f"{path}: measured at other sizes than {other}")
    assert "--timers 1000 vs 2000" in line
    # the same sizes compare
    assert cli("bench", "--load", path, "--compare", path).returncode == 0


def test_bench_ids_name_the_measured_sizes(bench_run: tuple[Path, str]) -> None:
    path, table = bench_run
    ids = list(json.loads(path.read_text(encoding="utf-8"))["workloads"])
    assert "full_read_500_cold" in ids and "full_read_60_cold" in ids
    assert "suffix_read_500" in ids and "suffix_read_60" in ids
    assert not any("100k" in name or "1k" in name for name in ids)
    assert "full_read_500_cold" in table and "full_read_100k_cold" not in table
    # --workloads takes the ids of the run's sizes, and says what a default id became
    line = refused_before_measuring(cli("bench", "--quick", "--workloads", "full_read_100k_cold"))
    assert line == (
        "--workloads: full_read_100k_cold is named full_read_20k_cold at the sizes of this run "
        "(ids name the sizes measured)"
    )
    line = refused_before_measuring(cli("bench", "--big-history=1000", "--stores=naive"))
    assert "would both be named full_read_1k_cold" in line


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--samples", "1001"], "--samples 1001: at most 1000"),
        (["--samples=1000000000"], "--samples 1000000000: at most 1000"),
        (["--workflows", "100001"], "--workflows 100001: at most 100000 (10x the default)"),
        (["--big-history", "10_000_000_000"], "--big-history 10000000000: at most 1000000"),
        (["--memory-events", "401"], "--memory-events 401: at most 400"),
        (
            ["--workflows", "100000", "--events-per-workflow", "200"],
            "--workflows 100000 x --events-per-workflow 200 = 20,000,000 events: at most 2,000,000",
        ),
        (["--quick", "--suffix", "50", "--small-history", "20"], "--suffix 50: at most"),
    ],
)
def test_bench_limits(arguments: list[str], message: str) -> None:
    # --stores mongo: an error too, found after the limits (before the fix, instead of them)
    line = refused_before_measuring(cli("bench", *arguments, "--stores", "mongo"))
    assert line.startswith(message), line


def test_bench_help_shows_the_limits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "at most 1000" in out  # --samples
    assert "[10000 / 1000, max 100000]" in out  # --workflows
    assert "at most 2,000,000 events" in out


@pytest.mark.parametrize(
    "threshold",
    [["--fail-over", "-5%"], ["--fail-over", "-5"], ["--fail-over=-5%"], ["--fail", "-5%"]],
)
def test_bench_negative_fail_over(
    threshold: list[str],
    bench_run: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = bench_run
    # the same numbers are not 5% faster: every median is a regression
    assert main(["bench", "--load", str(path), "--compare", str(path), *threshold]) == 1
    captured = capsys.readouterr()
    assert "(a regression: not at least 5% faster)" in captured.out
    assert "regressions (not at least 5% faster)" in captured.err
    # an earlier run twice as slow: everything is 50% faster now
    slower = tmp_path / "slower.json"
    regressed_copy(path, slower, 2.0)
    assert main(["bench", "--load", str(path), "--compare", str(slower), *threshold]) == 0


def test_bench_fail_over_zero_and_its_bounds(
    bench_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = bench_run
    # 0: no slowdown at all; the same numbers pass, 1% slower fails
    assert main(["bench", "--load", str(path), "--compare", str(path), "--fail-over", "0"]) == 0
    faster = tmp_path / "faster.json"
    regressed_copy(path, faster, 0.99)
    assert main(["bench", "--load", str(path), "--compare", str(faster), "--fail-over", "0"]) == 1
    assert "(slower at all)" in capsys.readouterr().err
    line = refused_before_measuring(
        cli("bench", "--load", path, "--compare", path, "--fail-over", "-100%")
    )
    assert line.startswith("--fail-over -100%: above -100%")


def test_join_negative_values() -> None:
    join = bench_cli.join_negative_values
    assert join(["bench", "--fail-over", "-5%", "--plain"]) == [
        "bench",
        "--fail-over=-5%",
        "--plain",
    ]
    assert join(["--fail-o", "-.5"]) == ["--fail-o=-.5"]
    assert join(["--fail-over", "20%", "--quick"]) == ["--fail-over", "20%", "--quick"]
    assert join(["--fail-over", "--quick"]) == ["--fail-over", "--quick"]
    assert join(["--", "--fail-over", "-5%"]) == ["--", "--fail-over", "-5%"]


def test_bench_markdown_and_json_to_stdout_refused(bench_run: tuple[Path, str]) -> None:
    path, _ = bench_run
    line = refused_before_measuring(cli("bench", "--load", path, "--json", "-", "--markdown"))
    assert line == (
        "--markdown and --json - both write stdout: give --json a file name, "
        "or leave out --markdown"
    )


def test_bench_messages_count_in_words(
    bench_run: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = bench_run
    data = json.loads(path.read_text(encoding="utf-8"))
    data["workloads"] = {
        "append_many": {"unit": "s", "stores": data["workloads"]["append_many"]["stores"]}
    }
    data["workloads"]["append_many"]["stores"] = {
        "naive": data["workloads"]["append_many"]["stores"]["naive"]
    }
    data["machine"]["cpus"] = 1
    one = write(tmp_path, "one.json", json.dumps(data))
    faster = tmp_path / "faster.json"
    regressed_copy(one, faster, 0.5)
    assert main(["bench", "--load", str(one), "--compare", str(faster), "--plain"]) == 1
    captured = capsys.readouterr()
    assert ", 1 CPU" in captured.out and "1 CPUs" not in captured.out
    assert f"{faster}: 1 regression (more than 20% slower): append_many on naive" in captured.err


def test_bench_ctrl_c_prints_what_was_measured() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "aion_store.cli", "bench", "--quick", "--plain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if re.match(rb"\[ *3/", line) or not line:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, b"".join(seen) + err
    assert b"interrupted: " in err and b"Traceback" not in err
    table = out.decode("utf-8")
    assert table.startswith("memory: ") and "append_many" in table


def test_bench_ctrl_c_is_not_lost_where_python_ignores_exceptions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An interrupt that lands in a ``__del__`` (Python prints it and goes on) still stops
    the run at the next sample."""
    from aion_store.cli._bench_measure import _CtrlC

    ignored: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda hook: ignored.append(hook.exc_type))

    class InterruptedWhileCollected:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # the handler runs here, inside __del__

    previous = signal.getsignal(signal.SIGINT)
    with _CtrlC() as ctrl_c:
        assert signal.getsignal(signal.SIGINT) == ctrl_c._handle
        ctrl_c.check()  # nothing asked yet
        InterruptedWhileCollected()
        assert ignored == [KeyboardInterrupt]  # Python swallowed the first one
        with pytest.raises(KeyboardInterrupt):
            ctrl_c.check()
    assert signal.getsignal(signal.SIGINT) is previous


# -- the command itself ----------------------------------------------------------------------


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("bench", "conformance", "inspect", "convert"):
        assert command in out
    assert main(["bench", "--help"]) == 0
    assert "--events-per-workflow" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["inspect"]) == 2  # argparse: the history is required


def engine_line(*args: str, pure: bool, code: str | None = None) -> str:
    """What ``python ARGS`` prints, with AION_STORE_PURE=1 or without it."""
    env = {key: value for key, value in os.environ.items() if key != "AION_STORE_PURE"}
    if pure:
        env["AION_STORE_PURE"] = "1"
    command = [sys.executable, "-c", code] if code else [sys.executable, *args]
    result = subprocess.run(command, capture_output=True, env=env, timeout=60, check=False)
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert result.stdout.count(b"\n") == 1
    return result.stdout.decode().rstrip("\n")


def test_python_m_aion_store_names_the_engine() -> None:
    prefix = f"aion-store {aion_store.__version__}: "
    pure = engine_line("-m", "aion_store", pure=True)
    assert pure == prefix + "pure-Python path: AION_STORE_PURE=1 is set"
    assert engine_line("-m", "aion_store.cli", "--version", pure=True) == pure
    default = engine_line("-m", "aion_store", pure=False)
    try:
        aion_store._select.load_core()
    except ImportError:
        assert default.startswith(prefix + "pure-Python path: the compiled extension ")
    else:
        modules = "aion_store._engine_c, aion_store.wire._msgpack_c"
        assert default == f"{prefix}compiled core ({modules})"
    assert engine_line("-m", "aion_store.cli", "--version", pure=False) == default
    # the extension missing: said so, with the ImportError
    blocked = (
        "import sys, runpy; sys.modules['aion_store._engine_c'] = None; "
        "runpy.run_module('aion_store', run_name='__main__')"
    )
    line = engine_line(pure=False, code=blocked)
    assert re.fullmatch(
        re.escape(prefix) + r"pure-Python path: the compiled extension is not installed "
        r"\(ModuleNotFoundError: .*aion_store\._engine_c.*\)",
        line,
    ), line


def test_select_reason_matches_the_engine() -> None:
    from aion_store import _select

    assert aion_store.compiled == _select.COMPILED
    if _select.FORCED_PURE:
        assert _select.REASON.startswith("pure-Python path: AION_STORE_PURE=")
    elif _select.COMPILED:
        assert _select.REASON == (
            "compiled core (aion_store._engine_c, aion_store.wire._msgpack_c)"
        )
    else:
        assert _select.REASON.startswith("pure-Python path: the compiled extension ")


def test_python_m_aion_store_takes_no_arguments() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aion_store", "bench"], capture_output=True, timeout=60, check=False
    )
    line = one_error_line(result)
    assert line.startswith("python -m aion_store takes no arguments")


def test_console_script() -> None:
    script = Path(sys.executable).parent / ("aion-store.exe" if os.name == "nt" else "aion-store")
    if not script.exists():
        pytest.skip("the aion-store console script is not installed in this environment")
    result = subprocess.run(
        [str(script), "inspect", str(CHECKOUT), "--format", "json"],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0 and json.loads(result.stdout)["status"] == "Completed"


def test_importing_aion_store_imports_no_cli() -> None:
    code = (
        "import sys, aion_store; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('rich', 'matplotlib', 'pytest', '_pytest') or m.startswith(('aion_store.cli', "
        "'aion_store.conformance', 'aion_store.pytest_plugin', 'aion_store.bench'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert result.stdout.strip() == b"[]"
