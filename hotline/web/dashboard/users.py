"""The accounts page: who can sign in to the dashboard, and with which role."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from hotline.plumbing.audit import record
from hotline.plumbing.runtime import runtime
from hotline.web.dashboard import accounts
from hotline.web.dashboard.blueprint import bp
from hotline.web.dashboard.guard import actor, current_user, requires
from models import DashboardUser
from models.clock import utcnow
from models.user import ROLES


@bp.get("/users")
@requires("admin")
def users_list():
    """Show every account, its role and whether it is locked."""
    with runtime().db.reading() as session:
        people = accounts.all_users(session)
    now = utcnow()
    locked = {u.id for u in people if accounts.is_locked(u, now)}
    return render_template("dashboard/users.html", people=people, locked=locked, roles=ROLES)


@bp.post("/users/add")
@requires("admin")
def users_add():
    """Create an account with a first password (the person changes it with an admin's help)."""
    try:
        with runtime().db.unit_of_work() as session:
            user = accounts.add_user(
                session,
                username=request.form.get("username", ""),
                role=request.form.get("role", ""),
                password=request.form.get("password", ""),
            )
            record(session, actor(), "user.add", target=f"user:{user.username}", detail=f"role:{user.role}")
            session.commit()
    except accounts.AccountError as error:
        flash(str(error), "error")
    else:
        flash(f"Added {user.username} ({user.role}).", "info")
    return redirect(url_for("dashboard.users_list"))


@bp.post("/users/<int:user_id>/unlock")
@requires("admin")
def users_unlock(user_id: int):
    """Lift a lockout after failed sign-ins."""
    with runtime().db.unit_of_work() as session:
        user = _user(session, user_id)
        accounts.unlock(user)
        session.add(user)
        record(session, actor(), "user.unlock", target=f"user:{user.username}")
        session.commit()
    flash(f"{user.username} can sign in again.", "info")
    return redirect(url_for("dashboard.users_list"))


@bp.post("/users/<int:user_id>/deactivate")
@requires("admin")
def users_deactivate(user_id: int):
    """Stop an account from signing in; its open sessions end at once."""
    me = current_user()
    if me is not None and me.id == user_id:
        flash("You cannot deactivate your own account.", "error")
        return redirect(url_for("dashboard.users_list"))
    with runtime().db.unit_of_work() as session:
        user = _user(session, user_id)
        accounts.deactivate(user)
        session.add(user)
        record(session, actor(), "user.deactivate", target=f"user:{user.username}")
        session.commit()
    flash(f"{user.username} can no longer sign in.", "info")
    return redirect(url_for("dashboard.users_list"))


def _user(session, user_id: int) -> DashboardUser:
    user = session.get(DashboardUser, user_id, with_for_update=True)
    if user is None:
        abort(404)
    return user
