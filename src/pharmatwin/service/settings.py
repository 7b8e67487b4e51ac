"""Service settings from the environment (prefix ``PHARMATWIN_``), e.g. ``PHARMATWIN_PORT``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pharmatwin.historian.urls import resolve_db_url


class ServiceSettings(BaseSettings):
    """Where the service listens and what it reads.

    Attributes:
        db: historian (and user store) database URL; default as ``resolve_db_url(None)``.
        session_ttl_h: how long a login session stays valid, h.
        host, port: the address uvicorn listens on.
        stream_poll_s: how often the live stream polls the historian, s.
        signals_reuse_s: identical signal requests within this many seconds share one answer
            (0: never), s.
    """

    model_config = SettingsConfigDict(env_prefix="PHARMATWIN_", extra="ignore")

    db: str = Field(default_factory=lambda: resolve_db_url(None))
    session_ttl_h: float = Field(default=8.0, gt=0, le=24 * 30)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    stream_poll_s: float = Field(default=0.5, gt=0, le=60)
    signals_reuse_s: float = Field(default=2.0, ge=0, le=60)
