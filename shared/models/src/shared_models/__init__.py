"""The schema's single source of truth: typed SQLAlchemy models and database settings."""

from shared_models.base import Base
from shared_models.login_failure import LoginFailure
from shared_models.post import Post
from shared_models.settings import DatabaseSettings
from shared_models.user import User

__all__ = ["Base", "DatabaseSettings", "LoginFailure", "Post", "User"]
