"""Administrators' and fleet managers' pages."""

from flask import Blueprint, render_template

from server.auth import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@role_required("manager", "admin")
def index():
    return render_template("admin/index.html")
