"""Users (admin): every account with its role, whether it is enabled and when it last logged in;
change a role, disable or enable an account, add one. The library checks each change (the
``manage_users`` permission, and that the last enabled admin is neither demoted nor disabled)
and its refusal is shown as it says it. ``workbench users …`` does the same from the shell."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.components import local_time, md
from workbench.access import ROLES
from workbench.errors import WorkbenchError
from workbench.users import add_user, disable_user, enable_user, list_users, set_role

actor = components.require_actor()
settings = components.settings()
st.header("Users")
components.show_flash()


def _change(name: str, what: str) -> None:
    """Change a role, disable or enable (a callback; the library checks it all)."""
    who = components.callback_actor()
    if who is None:
        return
    try:
        if what == "role":
            role = st.session_state.get(f"u_role_{name}")
            user = set_role(name, role, by=who, settings=settings)
            components.flash(f"{user.name} is now {user.role}.")
        elif what == "disable":
            disable_user(name, by=who, settings=settings)
            components.flash(f"{name} is disabled: their sessions have ended.")
        else:
            enable_user(name, by=who, settings=settings)
            components.flash(f"{name} is enabled again.")
    except WorkbenchError as exc:
        components.flash(exc, "error")


with components.reported():
    accounts = list_users(by=actor, settings=settings)
    enabled = sum(not u.disabled for u in accounts)
    st.caption(f"{len(accounts)} account{'s' if len(accounts) != 1 else ''} · {enabled} enabled")
    head = st.columns([3, 3, 2, 3, 2])
    for col, words in zip(head, ("Name", "Role", "State", "Last login", "")):
        col.markdown(f"**{words}**" if words else "")
    for user in accounts:
        cols = st.columns([3, 3, 2, 3, 2])
        cols[0].markdown(md(user.name) + (" (you)" if user.name == actor.name else ""))
        key = f"u_role_{user.name}"
        st.session_state[key] = user.role  # the box shows the role the account has (a refused change too)
        cols[1].selectbox(f"Role of {user.name}", list(ROLES), key=key, label_visibility="collapsed",
                          on_change=_change, args=(user.name, "role"))
        cols[2].markdown(":gray-badge[disabled]" if user.disabled else ":green-badge[enabled]")
        cols[3].markdown(md(local_time(user.last_login)) if user.last_login else "never")
        if user.disabled:
            cols[4].button(f"Enable {user.name}", key=f"u_enable_{user.name}", on_click=_change,
                           args=(user.name, "enable"))
        else:
            cols[4].button(f"Disable {user.name}", key=f"u_disable_{user.name}", on_click=_change,
                           args=(user.name, "disable"))

st.subheader("Add a user", anchor=False)
with st.form("u_add", clear_on_submit=True):
    name = st.text_input("Name", key="u_name")
    role = st.selectbox("Role", list(ROLES), key="u_role")
    password = st.text_input("Password", type="password", key="u_password")
    added = st.form_submit_button("Add user")
if added:
    with components.reported():
        add_user(name.strip(), role, password, by=actor, settings=settings)
        st.success(f"Added {md(name.strip())} as {md(role)}.")
