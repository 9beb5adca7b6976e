"""Log in with a local account (``workbench users add NAME --role R``).

This page runs at every page's address while nobody is signed in (see ``ui/nav.py``), so the
address and its query stay as they are and the page they name shows after the login. The token
goes into this session's state, and a single-use handoff code turns it into the browser's
HttpOnly cookie (``ui/sessions.py``), so a reload or a new tab stays signed in."""

from __future__ import annotations

import streamlit as st

from ui import components
from workbench.errors import WorkbenchError
from workbench.users import LoginThrottled, authenticate, start_session

st.title("Creative Workbench")
st.caption("Review, approve and export generated creatives.")
components.show_flash()
components.clear_dead_cookie()

with st.form("login", clear_on_submit=False):
    name = st.text_input("User name", key="login_name", autocomplete="username")
    password = st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
    submitted = st.form_submit_button("Log in", type="primary")

if submitted:
    try:
        actor = authenticate(name.strip(), password, client=components.client_address(),
                             settings=components.settings())
        token = start_session(actor, settings=components.settings())
    except LoginThrottled as exc:
        st.error(f"Too many failed logins: try again in {int(exc.retry_after_s)} s.")
    except WorkbenchError:
        # One message for an unknown name, a wrong password and a disabled account.
        st.error("Wrong user name or password.")
    else:
        components.signed_in(token)
        st.session_state.pop("login_password", None)
        st.rerun()
