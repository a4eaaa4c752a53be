"""The bodies of the greeting and the health probes."""

from pydantic import BaseModel, Field


class Message(BaseModel):
    message: str


class Health(BaseModel):
    status: str = Field(examples=["ok"])
