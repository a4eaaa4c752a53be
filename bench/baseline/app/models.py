from datetime import UTC, datetime
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import relationship, mapped_column
from app.database import Base
class User(Base):
    __tablename__ = "users"
    id = mapped_column(Integer, primary_key=True, index=True)
    username = mapped_column(String(50), unique=True, nullable=False, index=True)
    email = mapped_column(String(120), unique=True, nullable=False, index=True)
    posts = relationship(
        "Post",
        back_populates="author",
        cascade="all, delete-orphan",
    )
class Post(Base):
    __tablename__ = "posts"
    id = mapped_column(Integer, primary_key=True, index=True)
    title = mapped_column(String(100), nullable=False)
    content = mapped_column(Text, nullable=False)
    user_id = mapped_column(
        Integer,
        ForeignKey("users.id"),
        nullable=False,
        index=True,
    )
    date_posted = mapped_column(
        DateTime(timezone=True),
        default=lambda: datetime.now(UTC),
        nullable=False,
    )
    author = relationship(
        "User",
        back_populates="posts",
    )
