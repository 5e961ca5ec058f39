"""A client of the gateway app for these tests, with shortcuts for what a user checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.ecommerce.payloads import COURSE_KEY
from tests.factories import bearer
from tests.factories import url_of as url_of  # still imported from here by some tests


@dataclass
class Gateway:
    """The gateway app in a TestClient, and the `exec-ed` key."""

    client: TestClient
    api_key: str

    def send(self, event: dict[str, Any]) -> Any:
        return self.client.post("/api/v1/events", json=event, headers=bearer(self.api_key))

    def course(self, key: str = COURSE_KEY) -> dict[str, Any] | None:
        """The course as GET /api/v1/courses/{key} shows it, or None if it does not exist."""
        response = self.client.get(f"/api/v1/courses/{key}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def run(self, run_key: str) -> dict[str, Any]:
        """A run as GET /api/v1/course-runs/{key} shows it."""
        response = self.client.get(f"/api/v1/course-runs/{run_key}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def event(self, event_id: str) -> Any:
        return self.client.get(f"/api/v1/events/{event_id}", headers=bearer(self.api_key))


def steps_named(answer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The steps of an answer with that name, in order."""
    return [step for step in answer["steps"] if step["name"] == name]


def runs_by_key(course: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["key"]: run for run in course["course_runs"]}
