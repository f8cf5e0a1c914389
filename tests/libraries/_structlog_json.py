"""_structlog_json: what the structlog programs here (structlog_rounds, structlog_job_kind,
structlog_timeouts) share: their structlog set-up (JSON lines to a file, the context's bound
fields merged into every record, the level, an ISO timestamp, exceptions formatted) and how
they run."""

import asyncio
import json
import os
import sys
from pathlib import Path

import structlog


def configure(path):
    """Sends every logger's records to `path`; returns the open file, to close when done."""
    out = open(path, "w")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.WriteLoggerFactory(file=out),
    )
    return out


def run_program(name, setup, main, truth):
    """What `python3 NAME.py OUTDIR` does: logs main() through setup(path) into OUTDIR/NAME.jsonl,
    writes OUTDIR/NAME.truth.json from truth(what main returned), and exits at once, so that
    the tasks left pending stay pending with nothing logged for them."""
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    outdir.mkdir(parents=True, exist_ok=True)
    out = setup(outdir / (name + ".jsonl"))
    result = asyncio.new_event_loop().run_until_complete(main())
    out.flush()
    (outdir / (name + ".truth.json")).write_text(json.dumps(truth(result), indent=1) + "\n")
    os._exit(0)
