"""_structlog_json: structlog set up as the structlog programs here log (structlog_rounds,
structlog_job_kind, structlog_timeouts): JSON lines to a file, the context's bound fields merged
into every record, the level, an ISO timestamp, exceptions formatted."""

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
