"""The failures a request can cause, each with the HTTP status it becomes.

Routes raise these with a message naming the problem (a parameter, a run, a layer, a step);
``server.plugin`` turns them into a 4xx answer ``{"error": message}`` (docs/ARCHITECTURE.md,
"Reliability and safety"). Named for the status they become, as werkzeug names its own.
"""

from __future__ import annotations


class RequestError(Exception):
    """A request the plugin cannot answer; ``status`` is the HTTP status (4xx)."""

    status = 400


class NotFound(RequestError):  # noqa: N818 (named for HTTP 404, like werkzeug.exceptions.NotFound)
    """The request names a run, layer, step, image or filter the log does not hold."""

    status = 404


class Unreadable(RequestError):  # noqa: N818 (named for what it reports, like NotFound)
    """The log holds the record, but its bytes are not a valid record (e.g. cut off)."""

    status = 422
