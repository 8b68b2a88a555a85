"""Server-side sessions of signed-in staff: the cookie carries only a random token, this table the rest.

Signing out deletes the row; deactivating an account or changing its password deletes every row of
that user, so a copied cookie stops working at once on every app node sharing the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from survey.db.base import Base, UTCDateTime, utcnow


class StaffSession(Base):
    __tablename__ = "sessions"

    #: sha256 (hex) of the cookie token; the token itself is never stored
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
