"""Errors the engine reports to the user (as an `error` event and a one-line message).

`kind` is one of: oom, nan, model-not-found, bad-job, interrupted, internal. The CLI turns it
into a readable message and a hint; the engine never shows a bare traceback for these.
"""


class EngineError(Exception):
    def __init__(self, kind: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.hint = hint
