"""Failure notification: a JSON POST to a webhook. A webhook that is down is logged, never fails the run."""

from __future__ import annotations

import logging

import httpx

from agent.routines.history import RunRecord

log = logging.getLogger(__name__)


def notification_payload(record: RunRecord) -> dict:
    return {
        "routine": record.routine,
        "run_id": record.id,
        "status": record.status,
        "trigger": record.trigger,
        "screen": record.screen,
        "failed_step": record.failed_step,
        "failed_step_label": record.failed_step_label,
        "reason": record.reason,
        "screenshot": record.screenshot,
        "session_dir": record.session_dir,
        "last_action": record.last_action,
        "started_at": record.started_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
    }


def post_webhook(url: str, record: RunRecord, *, timeout: float = 5.0) -> bool:
    """POSTs the run's outcome; True when the webhook answered 2xx. Never raises."""
    try:
        response = httpx.post(url, json=notification_payload(record), timeout=timeout)
        response.raise_for_status()
    except (httpx.HTTPError, httpx.InvalidURL) as e:
        log.warning("routine %s run %s: webhook %s failed: %s", record.routine, record.id, url, e)
        return False
    return True
