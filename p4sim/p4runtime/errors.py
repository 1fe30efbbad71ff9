"""The one exception type the P4Runtime layer raises: a gRPC status code plus a message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from finsy.proto import p4r

from p4sim.engine import AlreadyExistsError, EngineError, InvalidEntryError, NotFoundError


class P4RuntimeError(Exception):
    """A request cannot be served; ``code`` is the canonical gRPC code the spec prescribes."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def code_number(self) -> int:
        """The numeric google.rpc.Code value of :attr:`code`."""
        return int(self.code.value[0])


def invalid_argument(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.ALREADY_EXISTS, message)


def unimplemented(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.UNIMPLEMENTED, message)


def permission_denied(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.PERMISSION_DENIED, message)


def failed_precondition(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.FAILED_PRECONDITION, message)


def resource_exhausted(message: str) -> P4RuntimeError:
    return P4RuntimeError(grpc.StatusCode.RESOURCE_EXHAUSTED, message)


def check_update_target(update_type: int, exists: bool, *, duplicate: str, missing: str) -> None:
    """Refuse an INSERT of what exists (``duplicate``), a MODIFY or DELETE of what does not
    (``missing``) and any other update type, with the codes the P4Runtime spec prescribes."""
    if update_type == p4r.Update.INSERT:
        if exists:
            raise already_exists(duplicate)
    elif update_type in (p4r.Update.MODIFY, p4r.Update.DELETE):
        if not exists:
            raise not_found(missing)
    else:
        raise invalid_argument("Update type must be INSERT, MODIFY or DELETE")


@contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """Translate engine exceptions raised inside the block into P4Runtime errors."""
    try:
        yield
    except NotFoundError as err:
        raise not_found(f"{what}: {err}") from err
    except AlreadyExistsError as err:
        raise already_exists(f"{what}: {err}") from err
    except InvalidEntryError as err:
        raise invalid_argument(f"{what}: {err}") from err
    except EngineError as err:
        raise P4RuntimeError(grpc.StatusCode.UNKNOWN, f"{what}: {err}") from err
