"""Who may do what to whom: the one place the admin pages ask (issue 13).

Roles: `admin` manages everything; `manager` (fleet manager of one department) manages the accounts of
role `agent` in their own department and nothing else: never an account whose role is manager or admin
(their own included: a manager changes their own password on /compte, like anyone). Role changes and
permanent access (a badge that starts cars without a booking) are for administrators only.

Each function takes the signed-in user (`g.user`) and the row concerned and answers True/False; views call
`require(...)`, which turns a refusal into 403, so a page cannot forget a case another page handles.
"""

from flask import abort


def is_admin(user):
    return user is not None and user["role"] == "admin"


def may_view_agent(user, agent):
    """Staff see the agents of their department (an administrator sees everyone)."""
    return is_admin(user) or (user is not None and user["role"] == "manager"
                              and agent["department_id"] == user["department_id"])


def may_manage_agent(user, agent):
    """Password, active flag, badges and personal habilitations of `agent`."""
    if is_admin(user):
        return True
    return (user is not None and user["role"] == "manager" and agent["role"] == "agent"
            and agent["department_id"] == user["department_id"])


def may_set_role(user, agent):
    """Administrators only, and never on their own account (no one locks the last admin out by mistake)."""
    return is_admin(user) and agent["id"] != user["id"]


def may_grant_permanent_access(user):
    return is_admin(user)


def require(allowed):
    if not allowed:
        abort(403)
