from fastapi import Depends, FastAPI, HTTPException, status
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from app import models
from app.database import get_db
from app.schemas import PostCreate, PostResponse, UserCreate, UserResponse
app = FastAPI(title="06 Alembic Migrations")
@app.get("/")
def home():
    return {
        "message": "FastAPI Alembic migration example"
    }
@app.post(
    "/users",
    response_model=UserResponse,
    status_code=status.HTTP_201_CREATED,
)
def create_user(
    payload: UserCreate,
    db: Session = Depends(get_db),
):
    existing_user = db.execute(
        select(models.User).where(
            or_(
                models.User.username == payload.username,
                models.User.email == payload.email,
            )
        )
    ).scalar_one_or_none()
    if existing_user:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT,
            detail="Username or email already exists",
        )
    user = models.User(
        username=payload.username,
        email=payload.email,
    )
    db.add(user)
    db.commit()
    db.refresh(user)
    return user
@app.get("/users", response_model=list[UserResponse])
def list_users(db: Session = Depends(get_db)):
    users = db.execute(
        select(models.User).order_by(models.User.id)
    ).scalars().all()
    return users
# bench: a single-row read in the tutorial's style (the tutorial has none)
@app.get("/users/{user_id}", response_model=UserResponse)
def get_user(user_id: int, db: Session = Depends(get_db)):
    user = db.get(models.User, user_id)
    if not user:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail="User not found",
        )
    return user
@app.post(
    "/users/{user_id}/posts",
    response_model=PostResponse,
    status_code=status.HTTP_201_CREATED,
)
def create_post(
    user_id: int,
    payload: PostCreate,
    db: Session = Depends(get_db),
):
    user = db.get(models.User, user_id)
    if not user:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail="User not found",
        )
    post = models.Post(
        title=payload.title,
        content=payload.content,
        user_id=user.id,
    )
    db.add(post)
    db.commit()
    db.refresh(post)
    return post
@app.get("/posts", response_model=list[PostResponse])
def list_posts(
    skip: int = 0,  # bench: offset paging in the tutorial's style
    limit: int | None = None,  # bench: without it, every row, as the tutorial does
    db: Session = Depends(get_db),
):
    query = select(models.Post).order_by(models.Post.id)
    if limit is not None:  # bench
        query = query.offset(skip).limit(limit)  # bench
    posts = db.execute(
        query
    ).scalars().all()
    return posts
