#!/usr/bin/env python3
"""Adds to the fuzzers' seed corpora under tests/fuzz/corpus/ (never removes a seed) from the
shipped logs (tests/fixtures, tests/unit/logs, sample_traces) and hand-written times and
durations.
Run again after the fixtures change; the output is deterministic.

    tests/fuzz/make_corpus.py build/coroner

The built coroner writes the partial states that seed fuzz_state."""
import gzip
import hashlib
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fuzz" / "corpus"
MAX = 16 * 1024  # bigger seeds are cut at a line boundary: small inputs fuzz faster


def logs():
    for d in ("tests/fixtures", "tests/unit/logs", "tests/e2e/logs", "sample_traces"):
        for p in sorted((ROOT / d).glob("*")):
            if p.is_file() and p.suffix != ".md":
                yield p


def cut(data: bytes) -> bytes:
    if len(data) <= MAX or data[:2] == b"\x1f\x8b" or data[:4] == b"\x28\xb5\x2f\xfd":
        return data
    end = data.rfind(b"\n", 0, MAX)
    return data[: end + 1] if end > 0 else data[:MAX]


def write(target: str, data: bytes) -> None:
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


HAND_LOGS = [
    b"",
    b"\n\n\r\n",
    b"\xef\xbb\xbf{\"ts\":1,\"task_id\":1,\"stage\":\"start\"}\r\n",
    b"2026-11-25T09:23:19Z stdout F {\"ts\":1.5,\"task\":\"a\",\"event\":\"done\"}",
    b"{\"ts\":1,\"task_id\":\"a\",\"stage\":\"start\",\"awaits\":[\"b\",\"c\"]}\n"
    b"{\"ts\":2,\"task_id\":\"b\",\"stage\":\"start\",\"awaits\":\"a\"}\n"
    b"{\"ts\":3,\"task_id\":\"c\",\"stage\":\"start\",\"parent_id\":\"a\"}\n"
    b"{\"ts\":4,\"task_id\":\"c\",\"stage\":\"failed\",\"exception\":\"ValueError: boom\"}\n",
    b"{\"timestamp\":\"2026-11-25 09:23:19,610\",\"level\":\"ERROR\",\"message\":"
    b"\"Task exception was never retrieved\\nfuture: <Task finished name='Task-7' "
    b"coro=<work() done> exception=ValueError('boom')>\"}\n",
    b"{\"ts\":1,\"task_id\":{\"a\":1},\"stage\":[1,2]}\n{\"ts\":NaN}\n{\"ts\":1e999,\"task\":1.5}\n",
    b"{\"extra\":{\"task_id\":7,\"stage\":\"x\"},\"ts\":\"1795578788.82\",\"timeout\":\"250ms\"}\n",
    b"{\"ts\":1,\"task_id\":1,\"stage\":\"a\"\n{\"ts\":2,\"task_id\":1,\"stage\":\"done\"}\n",
    b"[" * 200 + b"\n" + b"{\"a\":" * 100 + b"1" + b"}" * 100 + b"\n",
    b"{\"ts\":1,\"task_id\":1,\"stage\":\"\xff\xfe\"}\n{\"ts\":2,\"task_id\":1,\"stage\":\"\x00\"}\n",
    # Duplicate keys (the last wins), flat and nested, and values that are no task id.
    b"{\"ts\":1,\"task_id\":\"d1\",\"task_id\":\"d2\",\"stage\":\"start\",\"stage\":\"done\"}\n"
    b"{\"ts\":2,\"task\":\"x\",\"task_id\":1,\"task_id\":null,\"awaits\":[1,true,1.5,\"b\"]}\n"
    b"{\"ts\":3,\"extra\":{\"task_id\":7},\"extra\":{\"task_id\":8,\"task_id\":1e3}}\n"
    b"{\"ts\":4,\"task_id\":true,\"parent_id\":false,\"task\\u005fid\":\"e\"}\n",
]

TIMES = [
    "2026-11-25T09:23:19.610115+05:30", "2026-11-25T09:23:19Z", "2026-11-25 09:23:19,610",
    "2026-11-25t09:23:19.1z", "2026-11-25", "2026-11-25T23:59:60Z", "2016-12-31T23:59:60Z",
    "2026-11-25T09:23:19 +0530", "2026-11-25T09:23:19-0800", "2026-11-25T09:23:19+05",
    "2026-02-29T00:00:00Z", "2024-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
    "1677-09-21T00:12:43.145224Z", "2262-04-11T23:47:16.854775Z", "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z", "Wed Nov 25 09:23:19 2026", "Thu Nov  5 09:23:19 2026",
    "1795578788.8227997", "1795578788822", "1795578788822799", "1795578788822799700",
    "1.7e9", "1.7E+12", "-1.5", "-0", "0", "9223372036854775807", "9223372036854775808",
    "18446744073709551616", "1e308", "1e-308", "NaN", "Infinity", "-Infinity", " 12 ",
    "250ms", "30s", "1.5m", "2h", "100us", "5ns", "2.5", "1h30m", "1m30", "\xc2\xb5s",
    "3\xce\xbcs", "106751d", "9223372036.854775807s", "0.000000000000000000001s",
]


DIALECT_FIXTURES = [
    "tests/fixtures/libraries/eliot_service.jsonl",
    "tests/fixtures/libraries/eliot_service_batch.jsonl",
    "tests/fixtures/libraries/loguru_service.jsonl",
    "tests/fixtures/libraries/structlog_service.jsonl",
    "tests/fixtures/otlp/trace.otlp.json",
    "tests/fixtures/opentelemetry/spans_pretty.json",
    "tests/fixtures/opentelemetry/spans_oneline.jsonl",
]
DIALECT_SLICE = 4 * 1024


def dialect_seeds() -> None:
    """fuzz_dialects: small slices of each dialect's fixture (whole values: cut after the first
    value that ends past the slice size), the knob byte in front; fuzz_pipeline: the same slices."""
    for name in DIALECT_FIXTURES:
        data = (ROOT / name).read_bytes()
        text = data.decode()
        decoder, pos = json.JSONDecoder(), 0
        while pos < len(text) and pos < DIALECT_SLICE:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            _, pos = decoder.raw_decode(text, pos)
        piece = text[:pos].encode() + b"\n"
        for knobs in (b"\x00", b"\x35"):
            write("fuzz_dialects", knobs + piece)
        write("fuzz_pipeline", piece)  # the whole road, each file's dialect told on the way
    for data in HAND_LOGS:
        write("fuzz_dialects", b"\x11" + data)


STATE_LOGS = [
    "tests/fixtures/seed_print.jsonl",
    "sample_traces/deadlock.jsonl",
    "tests/unit/logs/module_exit.jsonl",
    "tests/unit/logs/asyncio.jsonl",
    "tests/fixtures/damaged.jsonl",
    "tests/fixtures/free_text.jsonl",
    "tests/fixtures/opentelemetry/spans_oneline.jsonl",
]


def state_seeds(coroner: str) -> None:
    """fuzz_state: partial states of a few logs, whole (first byte 1) and as the entries of their
    block (first byte 0; the target frames them); logs cut small so each fits one block."""
    for name in STATE_LOGS:
        log = cut((ROOT / name).read_bytes())
        state = subprocess.run([coroner, "partial", "-", "-o", "-"], input=log,
                               capture_output=True, check=True).stdout
        write("fuzz_state", b"\x01" + state)
        at = state.index(b"\n") + 1
        header_size = int.from_bytes(state[at:at + 4], "little")
        at += 8 + header_size
        size = int.from_bytes(state[at:at + 4], "little") & 0x7FFFFFFF  # the part-end bit
        write("fuzz_state", b"\x00" + state[at + 8:at + 8 + size])


def main() -> None:
    # Seeds are only added (each named by its hash): the seeds kept by hand (an input that once
    # showed a bug, fuzz_stage_template's) stay, and so do the seeds of fixtures since changed.
    for p in logs():
        data = cut(p.read_bytes())
        write("fuzz_pipeline", data)
        write("fuzz_reader", b"\x00" + data)
        write("fuzz_reader", b"\x1b" + data)  # small reads, a 28-byte buffer
    for data in HAND_LOGS:
        write("fuzz_pipeline", data)
        write("fuzz_reader", b"\x05" + data)
        write("fuzz_pipeline", gzip.compress(data, mtime=0))
        write("fuzz_reader", b"\x00" + gzip.compress(data, mtime=0))
        zst = subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True)
        write("fuzz_pipeline", zst.stdout)
    # A truncated gzip and zstd stream.
    seed = cut((ROOT / "tests/fixtures/seed_print.jsonl").read_bytes())
    write("fuzz_pipeline", gzip.compress(seed, mtime=0)[:-20])
    write("fuzz_pipeline", subprocess.run(["zstd", "-q", "-c"], input=seed, capture_output=True,
                                          check=True).stdout[:-20])
    for t in TIMES:
        write("fuzz_timestamp", t.encode())
    dialect_seeds()
    state_seeds(sys.argv[1])


if __name__ == "__main__":
    main()
