"""The real revisions the tests name, in order (one place to update when one is added)."""

BASE_REVISION = "7c3e1a9b2f40"  # create users and posts
BIO_REVISION = "d41f6b8e0a73"  # add user bio
HEAD_REVISION = "a9e2c4d7f015"  # index posts by user and id
