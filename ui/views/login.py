"""Log in with a local account (``workbench users add NAME --role R``). The token of the login
session is kept in this browser session's state; every run checks it (see ``ui/app.py``)."""

from __future__ import annotations

import streamlit as st

from ui import components
from workbench.errors import WorkbenchError
from workbench.users import authenticate, start_session

st.title("Creative Workbench")
st.caption("Review, approve and export generated creatives.")
components.show_flash()

with st.form("login", clear_on_submit=False):
    name = st.text_input("User name", key="login_name", autocomplete="username")
    password = st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
    submitted = st.form_submit_button("Log in", type="primary")

if submitted:
    try:
        actor = authenticate(name.strip(), password, settings=components.settings())
    except WorkbenchError:
        # One message for an unknown name and a wrong password: the form does not reveal which.
        st.error("Wrong user name or password.")
    else:
        st.session_state[components.TOKEN_KEY] = start_session(actor, settings=components.settings())
        st.session_state.pop("login_password", None)
        st.rerun()
