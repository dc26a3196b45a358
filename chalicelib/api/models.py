"""Request and response models shared by several routes."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


class ApiModel(BaseModel):
    """Every API model builds its validator on first use, not at import: a cold start pays only for
    the models of the route it serves."""

    model_config = ConfigDict(defer_build=True)


class RequestModel(ApiModel):
    """Unknown fields are refused, so a misspelt field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class PageQuery(RequestModel):
    limit: int = Field(default=50, ge=1, le=200, description="page size")
    cursor: str | None = Field(default=None, max_length=2048, description="next_cursor of the previous page")


class ItemsPage(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class ErrorDetail(ApiModel):
    code: str
    message: str
    details: object | None = None
    request_id: str


class ErrorResponse(ApiModel):
    error: ErrorDetail
