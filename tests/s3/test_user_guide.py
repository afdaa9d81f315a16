"""The provider's user guide's s3cmd session, command by command as it is written there
(Getting Started: mb, ls, setcors, put, put under another name, ls, get, get to another
file, info), against oxstore with a configuration file like the guide's."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import Server, Tool, require_binary, s3cmd_config

CORS = """<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>
"""


def test_the_getting_started_session(server: Server, tool: Tool) -> None:
    s3cmd = require_binary("s3cmd")
    s3cmd_config(tool, server)  # ~/.s3cfg: the default location the guide relies on
    home = tool.home

    def run(*args: str) -> str:
        return tool.run(s3cmd, *args).stdout

    assert "Bucket 's3://my-bucket-1/' created" in run("mb", "s3://my-bucket-1")
    assert "s3://my-bucket-1" in run("ls")
    (home / "CORS.cfg").write_text(CORS)
    run("setcors", "CORS.cfg", "s3://my-bucket-1")
    picture = os.urandom(1189)
    (home / "picture.gif").write_bytes(picture)
    uploaded = run("put", "picture.gif", "s3://my-bucket-1")
    assert (
        "'picture.gif' -> 's3://my-bucket-1/picture.gif'" in uploaded and "1189 bytes" in uploaded
    )
    run("put", "picture.gif", "s3://my-bucket-1/picture-draft.gif")
    listed = run("ls", "s3://my-bucket-1")
    rows = {line.split()[-1]: line.split()[-2] for line in listed.splitlines()}
    assert rows == {
        "s3://my-bucket-1/picture.gif": "1189",
        "s3://my-bucket-1/picture-draft.gif": "1189",
    }
    (home / "picture.gif").unlink()
    run("get", "s3://my-bucket-1/picture.gif")
    assert (home / "picture.gif").read_bytes() == picture
    run("get", "s3://my-bucket-1/picture-draft.gif", "picture-draft-2.gif")
    assert Path(home / "picture-draft-2.gif").read_bytes() == picture
    info = run("info", "s3://my-bucket-1")
    assert "CORS:" in info and "<AllowedOrigin>*</AllowedOrigin>" in info  # (newer s3cmd: "CORS")
    run("del", "s3://my-bucket-1/picture.gif", "s3://my-bucket-1/picture-draft.gif")
    run("rb", "s3://my-bucket-1")
