"""The accounts pages: who can sign in to the dashboard and with which role, and one's own password."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from hotline.plumbing.audit import record
from hotline.plumbing.runtime import runtime
from hotline.web.dashboard import accounts
from hotline.web.dashboard.blueprint import bp
from hotline.web.dashboard.guard import actor, client_address, current_user, requires, sign_in
from models import DashboardUser
from models.user import ROLES


@bp.get("/users")
@requires("admin")
def users_list():
    """Show every account, its role and its failed sign-ins since the last good one."""
    with runtime().db.reading() as session:
        people = accounts.all_users(session)
    return render_template(
        "dashboard/users.html", people=people, roles=ROLES, min_length=accounts.MIN_PASSWORD_LENGTH
    )


@bp.post("/users/add")
@requires("admin")
def users_add():
    """Create an account with a first password (the person then changes it on their account page)."""
    try:
        with runtime().db.unit_of_work() as session:
            user = accounts.add_user(
                session,
                username=request.form.get("username", ""),
                role=request.form.get("role", ""),
                password=request.form.get("password", ""),
            )
            _audit(session, "user.add", user, detail=f"role:{user.role}")
            session.commit()
    except accounts.AccountError as error:
        flash(str(error), "error")
    else:
        flash(f"Added {user.username} ({user.role}).", "info")
    return redirect(url_for("dashboard.users_list"))


@bp.post("/users/<int:user_id>/role")
@requires("admin")
def users_role(user_id: int):
    """Change what an account may do (sergeant, admin, or both)."""
    me = current_user()
    role = request.form.get("role", "")
    if me is not None and me.id == user_id and role not in ("admin", "both"):
        flash("You cannot take the admin role from your own account.", "error")
        return redirect(url_for("dashboard.users_list"))
    try:
        with runtime().db.unit_of_work() as session:
            user = _user(session, user_id)
            before = user.role
            accounts.set_role(user, role)
            session.add(user)
            _audit(session, "user.role", user, detail=f"role:{before}->{user.role}")
            session.commit()
    except accounts.AccountError as error:
        flash(str(error), "error")
    else:
        flash(f"{user.username} is now {user.role}.", "info")
    return redirect(url_for("dashboard.users_list"))


@bp.post("/users/<int:user_id>/password")
@requires("admin")
def users_reset_password(user_id: int):
    """Give someone a new password (they forgot theirs); their open sessions end at once."""
    me = current_user()
    if me is not None and me.id == user_id:
        flash("Change your own password on your account page (it asks for the current one).", "error")
        return redirect(url_for("dashboard.account"))
    try:
        with runtime().db.unit_of_work() as session:
            user = _user(session, user_id)
            accounts.set_password(user, request.form.get("password", ""))
            session.add(user)
            _audit(session, "user.reset_password", user)
            session.commit()
    except accounts.AccountError as error:
        flash(str(error), "error")
    else:
        flash(f"{user.username} has a new password; give it to them in person or by phone.", "info")
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
        _audit(session, "user.deactivate", user)
        session.commit()
    flash(f"{user.username} can no longer sign in.", "info")
    return redirect(url_for("dashboard.users_list"))


@bp.route("/account", methods=["GET", "POST"])
@requires("sergeant", "admin")
def account():
    """Change one's own password (the current one is needed); other sessions of the account end."""
    if request.method == "GET":
        return render_template("dashboard/account.html", min_length=accounts.MIN_PASSWORD_LENGTH)
    new = request.form.get("new_password", "")
    if new != request.form.get("repeat_password", ""):
        flash("The two new passwords differ.", "error")
        return render_template("dashboard/account.html", min_length=accounts.MIN_PASSWORD_LENGTH), 400
    try:
        with runtime().db.unit_of_work() as session:
            user = _user(session, current_user().id)
            accounts.change_password(user, request.form.get("current_password", ""), new)
            session.add(user)
            _audit(session, "user.change_password", user)
            session.commit()
            session.refresh(user)
    except accounts.AccountError as error:
        flash(str(error), "error")
        return render_template("dashboard/account.html", min_length=accounts.MIN_PASSWORD_LENGTH), 400
    sign_in(user)  # this browser stays signed in under the new epoch; every other one is signed out
    flash("Your password is changed. Other browsers signed in as you are signed out.", "info")
    return redirect(url_for("dashboard.home"))


def _audit(session, action: str, user: DashboardUser, *, detail: str | None = None) -> None:
    record(session, actor(), action, target=f"user:{user.username}", detail=detail, address=client_address())


def _user(session, user_id: int) -> DashboardUser:
    user = session.get(DashboardUser, user_id, with_for_update=True)
    if user is None:
        abort(404)
    return user
