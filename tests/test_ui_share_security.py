"""The share link's HTTP side, against a real server: ``POST /_wb/share`` turns a single-use
share handoff code (not a login code) into an HttpOnly ``wb_share`` cookie lasting as long as
the link; media are served to a live share cookie and refused to a revoked or unknown one."""

from __future__ import annotations

import json

from tests.test_ui_security import request
from workbench import shares
from workbench.access import Actor

CARA = Actor("cara", "creative")


def test_the_share_route_refuses_what_it_should(server):
    assert request(server, "GET", "/_wb/share")[0] == 405
    for body in (b"", b"not json", b'{"code": 5}', b'{"code": "' + b"a" * 43 + b'"}'):
        status, headers, _ = request(server, "POST", "/_wb/share", body=body, headers={"Content-Type": "application/json"})
        assert status == 403 and "set-cookie" not in headers, body[:20]
    status, _, _ = request(server, "POST", "/_wb/share", body=b'{"code": "x"}',
                           headers={"Origin": "https://evil.example", "Content-Type": "application/json"})
    assert status == 403


def test_media_follow_the_share_link_until_it_is_revoked(server):
    made = shares.create_share(CARA, [1, 2], label="Agency", access="view")
    live = {"Cookie": f"wb_share={made.token}"}
    # no such file: the guard lets a live link through to Streamlit (404), refuses the others (403)
    assert request(server, "GET", "/media/0123456789abcdef.jpg", headers=live)[0] == 404
    assert request(server, "GET", "/media/0123456789abcdef.jpg", headers={"Cookie": "wb_share=nope"})[0] == 403
    assert request(server, "GET", "/_stcore/upload_file/x", headers=live)[0] == 403  # uploads: never for a guest
    shares.revoke_share(CARA, made.share.id)
    assert request(server, "GET", "/media/0123456789abcdef.jpg", headers=live)[0] == 403
    # a share cookie is no login: the session route does not take a share code either
    body = json.dumps({"code": "A" * 43}).encode()
    assert request(server, "POST", "/_wb/session", body=body, headers={"Content-Type": "application/json"})[0] == 403
