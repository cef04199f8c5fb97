"""outbox priority and sender; the per-sender pace

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "sender", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default="main"
            )
        )
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="3"))
        batch_op.create_index(batch_op.f("ix_outbox_priority"), ["priority"], unique=False)
    # Rows waiting at upgrade time keep the order they would have had (no staff number yet).
    op.execute(
        "UPDATE outbox SET priority = CASE"
        " WHEN kind = 'redact' THEN 4"
        " WHEN audience = 'staff' AND (purpose IN ('offer', 'bridge') OR kind = 'call') THEN 0"
        " WHEN audience = 'staff' AND purpose = 'alert' THEN 1"
        " WHEN audience = 'staff' THEN 2 ELSE 3 END"
    )
    op.create_table(
        "sender_pace",
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("next_free_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sender"),
    )


def downgrade() -> None:
    op.drop_table("sender_pace")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_priority"))
        batch_op.drop_column("priority")
        batch_op.drop_column("sender")
