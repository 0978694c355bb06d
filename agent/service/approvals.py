"""Live actions waiting for an operator, kept under `<data_dir>/approvals/` so that any operator view (another
browser, a reloaded page, an API client, the service after a restart) can list them and decide.

This is an index, not the authority: the thread's checkpoint says what is really pending, and the agent refuses an
approval that does not name it (agent.approval). After every job on a thread the thread's entry is brought up to
date: a decided or withdrawn action leaves the list, a new one joins it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from agent.approval import PendingApproval

logger = logging.getLogger(__name__)
_ID = re.compile(r"[0-9a-f]{24}")


class ListedApproval(PendingApproval):
    expires_at: float | None = None  # wall clock after which it can only be rejected
    expired: bool = False


class ApprovalStore:
    def __init__(self, directory: Path, timeout_s: float, clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.timeout_s = timeout_s
        self.clock = clock

    def record(self, thread_id: str, approval: PendingApproval | None) -> None:
        """Where `thread_id` stands after a job: its earlier entries go, its pending action (if any) is kept."""
        for entry in self._entries():
            if entry.thread_id == thread_id and (approval is None or entry.approval_id != approval.approval_id):
                self._path(entry.approval_id).unlink(missing_ok=True)
        if approval is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self._path(approval.approval_id)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(approval.model_dump_json(), encoding="utf-8")
            os.replace(tmp, path)

    def pending(self) -> list[ListedApproval]:
        """Every action waiting for a decision, oldest first; expired ones flagged (they can still be rejected)."""
        now = self.clock()
        listed = []
        for entry in self._entries():
            expires = entry.requested_at + self.timeout_s if entry.requested_at is not None else None
            listed.append(
                ListedApproval(**entry.model_dump(), expires_at=expires, expired=expires is not None and now > expires)
            )
        return sorted(listed, key=lambda e: e.requested_at or 0.0)

    def listed(self, approval_id: str) -> ListedApproval:
        """One pending approval with its expiry; KeyError when there is none by that id."""
        self.get(approval_id)
        return next(entry for entry in self.pending() if entry.approval_id == approval_id)

    def get(self, approval_id: str) -> PendingApproval:
        """The entry; KeyError when there is no such pending approval."""
        path = self._path(approval_id) if _ID.fullmatch(approval_id) else None
        if path is None or not path.is_file():
            raise KeyError(approval_id)
        return PendingApproval.model_validate_json(path.read_text(encoding="utf-8"))

    def _path(self, approval_id: str) -> Path:
        return self.directory / f"{approval_id}.json"

    def _entries(self) -> list[PendingApproval]:
        entries = []
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []:
            try:
                entries.append(PendingApproval.model_validate_json(path.read_text(encoding="utf-8")))
            except (
                OSError,
                ValueError,
            ) as e:  # the checkpoint still holds the action; it is only missing from the list
                logger.warning("skipping unreadable approval entry %s: %s", path.name, str(e).splitlines()[0][:200])
        return entries
