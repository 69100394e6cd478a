"""Real smart-HTTP git over TLS with Basic auth: nginx → fcgiwrap → ``git http-backend``.

The server serves every bare repository under ``project_root`` at ``https://127.0.0.1:PORT/git/``
with a trustme certificate and one user from an htpasswd file (bcrypt). All files (config, logs,
pid, socket) live under one directory; nginx runs in the foreground with no master process, as
the current user, never as the system service.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import trustme

from tests.support.processes import accepts, free_port, stop_process, wait_started

__all__ = ["GitHttps", "start_git_https"]

NGINX = "/usr/sbin/nginx"
FCGIWRAP = "/usr/sbin/fcgiwrap"
HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
USER = "svc-config"


@dataclass
class GitHttps:
    """A running smart-HTTPS git server: its URL, CA and the one Basic user it lets in."""

    root: Path
    port: int
    project_root: Path
    ca_file: Path
    """PEM of the CA that signed the server certificate (not trusted by the system)."""
    htpasswd: Path
    nginx: subprocess.Popen[bytes]
    fcgiwrap: subprocess.Popen[bytes]

    def uri(self, repo: str) -> str:
        """``https://127.0.0.1:PORT/git/REPO``: the bare repository ``project_root/REPO``."""
        return f"https://127.0.0.1:{self.port}/git/{repo}"

    def set_password(self, password: str) -> None:
        """Make ``password`` the only one accepted for ``USER`` (nginx re-reads the file per request)."""
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        tmp = self.htpasswd.with_suffix(".tmp")
        tmp.write_text(f"{USER}:{hashed}\n", encoding="utf-8")
        tmp.replace(self.htpasswd)

    def stop(self) -> None:
        for process in (self.nginx, self.fcgiwrap):
            stop_process(process)


def start_git_https(root: Path, *, project_root: Path, password: str) -> GitHttps:
    """Start fcgiwrap and nginx under ``root`` serving ``project_root``; waits until TLS answers.

    Raises ``RuntimeError`` if either does not start within 10 s."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = root / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    chain = root / "server.pem"
    key = root / "server.key"
    cert.private_key_pem.write_to_path(str(key))
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    sock = root / "fcgiwrap.sock"
    fcgi_log = (root / "logs" / "fcgiwrap.log").open("wb")
    fcgiwrap = subprocess.Popen(
        [FCGIWRAP, "-s", f"unix:{sock}"], stdin=subprocess.DEVNULL, stdout=fcgi_log, stderr=fcgi_log
    )
    fcgi_log.close()
    port = free_port()
    server = GitHttps(root, port, project_root, ca_file, root / "htpasswd", fcgiwrap, fcgiwrap)
    server.set_password(password)
    conf = root / "nginx.conf"
    conf.write_text(
        _NGINX_CONF.format(root=root, port=port, cert=chain, key=key, sock=sock, projects=project_root)
    )
    wait_started(fcgiwrap, sock.exists, name="fcgiwrap", log=root / "logs" / "fcgiwrap.log")
    nginx_log = (root / "logs" / "nginx.out").open("wb")
    server.nginx = subprocess.Popen(
        [NGINX, "-p", str(root), "-c", str(conf), "-e", str(root / "logs" / "error.log")],
        stdin=subprocess.DEVNULL,
        stdout=nginx_log,
        stderr=nginx_log,
    )
    nginx_log.close()
    try:
        wait_started(
            server.nginx, lambda: accepts("127.0.0.1", port), name="nginx", log=root / "logs" / "error.log"
        )
    except RuntimeError:
        server.stop()
        raise
    return server


_NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp_body;
    fastcgi_temp_path {root}/tmp_fastcgi;
    proxy_temp_path {root}/tmp_proxy;
    uwsgi_temp_path {root}/tmp_uwsgi;
    scgi_temp_path {root}/tmp_scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location ~ ^/git(/.*)$ {{
            auth_basic "git";
            auth_basic_user_file {root}/htpasswd;
            client_max_body_size 0;
            fastcgi_pass unix:{sock};
            fastcgi_param SCRIPT_FILENAME {backend};
            fastcgi_param GIT_PROJECT_ROOT {projects};
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO $1;
            fastcgi_param REMOTE_USER $remote_user;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param GIT_HTTP_MAX_REQUEST_BUFFER 100M;
        }}
    }}
}}
""".replace("{backend}", HTTP_BACKEND)
