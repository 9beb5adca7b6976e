"""Share links: every link made for outside reviewers, what it names, until when, and Revoke.
Links are made from the queue ("Share … selected"); the token is shown once, there."""

from __future__ import annotations

import streamlit as st

from ui import components, threads
from ui.components import md
from workbench import shares

actor = components.require_actor()
settings = components.settings()
st.header("Share links", anchor=False)
components.show_flash()


def _revoke(share_id: int) -> None:
    try:
        shares.revoke_share(actor, share_id, settings=settings)
    except Exception as exc:  # noqa: BLE001 (a library refusal, shown)
        components.flash(exc, "error")
        return
    components.flash(f"Share link {share_id} revoked: it stops working at once.")


with components.reported():
    links = shares.list_shares(actor, settings=settings)
    if not links:
        st.info("No share links yet: select variants in the queue and share them.")
    for link in links:
        with st.container(border=True):
            cols = st.columns([4, 3, 2])
            cols[0].markdown(f"**{md(link.label)}** · {md(link.access)} · variants "
                             + md(", ".join(f"#{i}" for i in link.variant_ids)))
            cols[1].caption(f"by {md(link.created_by)} · until {md(threads.when(link.expires_at))} · {link.state}")
            if link.state == "live":
                cols[2].button(f"Revoke link {link.id}", key=f"sh_revoke_{link.id}", on_click=_revoke, args=(link.id,))
