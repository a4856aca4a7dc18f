"""A real IMAP server for the tests: Debian's dovecot (``.ci/run`` installs ``dovecot-imapd``),
started on free local ports with its own configuration, a self-signed certificate (TLS on one
port, STARTTLS on the other) and one mailbox per test."""

from __future__ import annotations

import grp
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

import attrs

DOVECOT = Path("/usr/sbin/dovecot")
DOVEADM = Path("/usr/bin/doveadm")
MISSING = (
    None
    if DOVECOT.exists() and shutil.which("openssl")
    else (
        "the IMAP tests need Debian's dovecot (apt-get install dovecot-imapd; .ci/run installs it)"
    )
)
#: not ASCII, so the login has to go through AUTHENTICATE PLAIN (UTF-8)
PASSWORD = "s3cret-پ"
MAILBOXES = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@attrs.define
class Dovecot:
    root: Path
    starttls_port: int
    tls_port: int
    ca_file: Path
    _users: itertools.count = attrs.field(factory=lambda: itertools.count(1))

    def mailbox(self) -> tuple[str, str]:
        """A new, empty mailbox: (username, password)."""
        number = next(self._users)
        assert number <= MAILBOXES, "more mailboxes than start_dovecot made"
        return f"shop{number}", PASSWORD

    def stop(self) -> None:
        subprocess.run(
            [str(DOVEADM), "-c", str(self.root / "dovecot.conf"), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )


def _mail_owner() -> tuple[str, str, str, str]:
    """Who runs dovecot's helpers and owns the mail: dovecot refuses root as a mail user."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.getuid()).pw_name
        return me, me, me, grp.getgrgid(os.getgid()).gr_name
    return "dovecot", "dovenull", "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name


def start_dovecot(root: Path) -> Dovecot:
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(root / "key.pem"),
            "-out",
            str(root / "cert.pem"),
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    home = root / "home"
    home.mkdir()
    os.chmod(home, 0o777)
    # all mailboxes up front: dovecot's auth process may not see lines added to the file later
    (root / "users").write_text(
        "".join(f"shop{n}:{{PLAIN}}{PASSWORD}\n" for n in range(1, MAILBOXES + 1))
    )
    internal, login, user, group = _mail_owner()
    starttls_port, tls_port = free_port(), free_port()
    (root / "dovecot.conf").write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = crm-test-{starttls_port}
default_internal_user = {internal}
default_login_user = {login}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={home}/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""")
    # dovecot forks into the background: its output goes to files, not to pipes we would wait on
    with (root / "start.log").open("wb") as out:
        subprocess.run(
            [str(DOVECOT), "-c", str(root / "dovecot.conf")],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            timeout=30,
        )
    server = Dovecot(root, starttls_port, tls_port, root / "cert.pem")
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", starttls_port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                log = root / "dovecot.log"
                raise RuntimeError(
                    "dovecot did not start: " + (log.read_text() if log.exists() else "no log")
                )
            time.sleep(0.1)
