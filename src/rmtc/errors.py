"""The errors rmtc raises, locally and through the service alike.

Every error has a stable ``code`` and an HTTP status, kept in one table (:data:`BY_CODE`), so the REST
service can send an error and the remote store raise the very same class on the other side. The CLI
turns any of them into one line (the message, then the fix) and an exit code, never a traceback.

::

    RmtcError
    ├── NotFound                  no such entity, blob, file
    ├── InvalidInput              the caller's input is wrong
    │   ├── AmbiguousReference    a reference matches several entities
    │   └── FileChanged           a file changed while it was being read
    ├── Conflict                  the write contradicts what is recorded (duplicate name, cycle)
    ├── RightsViolation           the rights do not allow the work; carries the evidence path
    ├── IntegrityError            stored bytes no longer match their hash
    ├── Unauthorized / Forbidden  service authentication and roles
    └── StoreError                the store cannot be used
        └── SchemaTooNew          the store was written by a newer rmtc
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class RmtcError(Exception):
    """Base of every rmtc error.

    Args:
        message: what went wrong, naming the thing it went wrong with.
        hint: how to fix it, when there is something the user can do.
        details: machine-readable context (sent through the service as JSON).
    """

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = dict(details or {})

    def one_line(self) -> str:
        """The message and the fix on one line, as the CLI prints it."""
        return f"{self.message}; {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint, "details": self.details}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RmtcError:
        """Rebuild the error a service sent, as the class with that code."""
        err_cls = BY_CODE.get(str(data.get("code")), RmtcError)
        return err_cls._rebuild(str(data.get("message", "")), data.get("hint"), data.get("details") or {})

    @classmethod
    def _rebuild(cls, message: str, hint: str | None, details: dict[str, Any]) -> RmtcError:
        return cls(message, hint=hint, details=details)


class NotFound(RmtcError):
    code = "not_found"
    http_status = 404
    exit_code = 3


class InvalidInput(RmtcError):
    code = "invalid_input"
    http_status = 422
    exit_code = 2


class AmbiguousReference(InvalidInput):
    code = "ambiguous_reference"
    http_status = 409


class FileChanged(InvalidInput):
    code = "file_changed"
    http_status = 409


class Conflict(RmtcError):
    code = "conflict"
    http_status = 409
    exit_code = 4


class RightsViolation(RmtcError):
    """The rights do not allow the work.

    ``evidence`` is the path (a list of entity descriptions, from the artefact down to the licence)
    that shows why, so the refusal names the source and the licence that forbid it.
    """

    code = "rights_violation"
    http_status = 403
    exit_code = 5

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        evidence: Sequence[Any] = (),
    ):
        merged = dict(details or {})
        if evidence:
            merged.setdefault("evidence", list(evidence))
        super().__init__(message, hint=hint, details=merged)

    @property
    def evidence(self) -> list[Any]:
        return list(self.details.get("evidence", []))


class IntegrityError(RmtcError):
    code = "integrity"
    http_status = 500
    exit_code = 6


class Unauthorized(RmtcError):
    code = "unauthorized"
    http_status = 401
    exit_code = 7


class Forbidden(RmtcError):
    code = "forbidden"
    http_status = 403
    exit_code = 7


class StoreError(RmtcError):
    code = "store"
    http_status = 503
    exit_code = 8


class SchemaTooNew(StoreError):
    code = "schema_too_new"
    http_status = 503


#: code -> class: the one table the service and the remote store share.
BY_CODE: dict[str, type[RmtcError]] = {
    c.code: c
    for c in (
        RmtcError,
        NotFound,
        InvalidInput,
        AmbiguousReference,
        FileChanged,
        Conflict,
        RightsViolation,
        IntegrityError,
        Unauthorized,
        Forbidden,
        StoreError,
        SchemaTooNew,
    )
}


class RmtcWarning(UserWarning):
    """Something worth knowing that is not an error (an unknown SPDX id read as granting nothing).
    The CLI prints each as one ``warning:`` line."""
