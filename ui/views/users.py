"""Users (admin): add local accounts. ``workbench users add NAME --role R`` does the same."""

from __future__ import annotations

import streamlit as st

from ui import components
from workbench.access import ROLES
from workbench.users import add_user

actor = components.require_actor()
settings = components.settings()
st.header("Users")
components.show_flash()

with st.form("u_add", clear_on_submit=True):
    name = st.text_input("Name", key="u_name")
    role = st.selectbox("Role", list(ROLES), key="u_role")
    password = st.text_input("Password", type="password", key="u_password")
    added = st.form_submit_button("Add user")
if added:
    with components.reported():
        add_user(name.strip(), role, password, by=actor, settings=settings)
        st.success(f"Added {components.md(name.strip())} as {components.md(role)}.")
