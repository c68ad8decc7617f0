"""Closing an account: the user, everything they own, and every blob of it, gone.

Each domain that keeps something of a user registers an *owner remover* (``services.py`` wires
them: videos, uploads, live streams, the channel's avatar; the social graph adds its own). All
of them run in one transaction with the user's row locked, so nothing new can be attached to the
user meanwhile (an insert that references the user waits on the lock, then fails), and a remover
that refuses (a stream that is live) leaves everything as it was. The user's row goes last and
takes with it, by foreign key, whatever no remover had to see first; the blobs follow the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from control_plane.accounts import AccountService
from control_plane.accounts.models import User
from control_plane.core.db import Database
from control_plane.core.leftovers import Leftovers
from storage import BlobStore

__all__ = ["AccountCloser", "OwnerRemover"]

log = logging.getLogger(__name__)

#: A domain's part in closing an account: ``(session, user_id)`` → what is left after the commit.
OwnerRemover = Callable[[Session, str], Leftovers]


class AccountCloser:
    def __init__(
        self,
        db: Database,
        accounts: AccountService,
        store: BlobStore,
        enqueue: Callable[..., object],
        removers: Sequence[OwnerRemover] = (),
    ) -> None:
        self.db = db
        self.accounts = accounts
        self.store = store
        self.enqueue = enqueue
        self.removers = list(removers)

    def on_close(self, remover: OwnerRemover) -> None:
        """Register another domain's part in closing an account (run in registration order)."""
        self.removers.append(remover)

    def close(
        self,
        user_id: str,
        password: str,
        *,
        otp: str | None = None,
        recovery_code: str | None = None,
        ip: str | None = None,
    ) -> None:
        """Remove the account after a step-up (its password and, if on, its second factor).

        Raises what the step-up raises (``InvalidCredentials``, ``OtpRequired``) or what a remover
        refuses with (``Conflict``), having changed nothing.
        """
        self.accounts.step_up(
            user_id, password, otp=otp, recovery_code=recovery_code, ip=ip, action="account.close"
        )
        leftovers = Leftovers()
        with self.db.session() as session:
            session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
            for remover in self.removers:
                leftovers.add(remover(session, user_id))
            self.accounts.remove_user_rows(session, user_id)
        leftovers.settle(self.store, self.enqueue)
        self.accounts.audit("account.deleted", user_id=user_id)
        log.info("account closed", extra={"user_id": user_id})
