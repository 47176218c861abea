"""Request bodies of the JSON API (responses are the services' plain dicts)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str
    password: str
    role: str = Field("worker", description="admin, requester or worker")


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""


class MembersAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    usernames: list[str] = Field(min_length=1)


class AnswerSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Any = Field(description="Ground Truth answerContent, e.g. {\"crowd-image-classifier\": {\"label\": \"cat\"}}")
    next: bool = Field(False, description="Also lease the next task of the same job and return it.")
