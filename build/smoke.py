"""Smoke test of the single executable, as a new user meets it.

From an empty directory with a clean environment: `leoflow version`, then
`leoflow lite` with no arguments but a home and port (it seeds the example
DAGs), the web UI and its offline code editor, a TaskFlow run over the REST API, its XCom and logs, proof that tasks
fork from the running process instead of re-running the file, and a kill -9
that leaves nothing behind.

usage: python build/smoke.py dist/leoflow
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

FORK_CHECK_DAG = '''
import os
from airflow.sdk import dag, task

@dag(dag_id="fork_check", schedule=None)
def fork_check():
    @task
    def where_am_i():
        def cmdline(pid):
            try:
                return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
            except FileNotFoundError:  # macOS: no /proc
                import subprocess
                return subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True,
                                      text=True).stdout.strip() + " "
        return {"self": cmdline(os.getpid()), "parent": cmdline(os.getppid())}
    where_am_i()

fork_check()
'''

# TLS from inside the executable (its own ssl module and OpenSSL): a task makes an https request to a
# server this test starts, trusting the test's CA, and reports whether a default context found any CA.
TLS_CHECK_DAG = '''
import ssl
import urllib.request
from airflow.sdk import dag, task

@dag(dag_id="tls_check", schedule=None)
def tls_check():
    @task
    def https_get():
        context = ssl.create_default_context(cafile={cafile!r})
        body = urllib.request.urlopen({url!r}, context=context, timeout=20).read().decode()
        return {{"body": body, "openssl": ssl.OPENSSL_VERSION,
                 "default_cas": ssl.create_default_context().cert_store_stats()["x509_ca"]}}
    https_get()

tls_check()
'''
TLS_BODY = "leoflow smoke over TLS"


class TlsServer:
    """An https server on loopback with a CA of its own (ca.pem in `folder`), answering TLS_BODY."""

    def __init__(self, folder: Path):
        import datetime as dt
        import http.server
        import ipaddress
        import ssl
        import threading

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = dt.datetime.now(dt.timezone.utc)
        name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # noqa: E731
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(name("leoflow smoke CA")).issuer_name(name("leoflow smoke CA"))
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=2))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .sign(ca_key, hashes.SHA256()))
        leaf = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=2))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = folder / "ca.pem"
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        (folder / "server.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(TLS_BODY)))
                self.end_headers()
                self.wfile.write(TLS_BODY.encode())

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(folder / "server.pem")
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def check_tls(api, home: Path, server: TlsServer, ca_file_inside: str) -> None:
    """Runs TLS_CHECK_DAG in a running lite (`api` as in main); `ca_file_inside`: the CA's path as the
    executable sees it (another path inside a chroot)."""
    (home / "dags" / "tls_check.py").write_text(TLS_CHECK_DAG.format(cafile=ca_file_inside, url=server.url))
    check("TLS DAG picked up", bool(wait(lambda: api("GET", "/api/v2/dags/tls_check").status_code == 200, 30)))
    run = api("POST", "/api/v2/dags/tls_check/dagRuns", json={"logical_date": None}).json()
    path = f"/api/v2/dags/tls_check/dagRuns/{run['dag_run_id']}"
    state = wait(lambda: (api("GET", path).json()["state"] in ("success", "failed")) and api("GET", path).json()["state"], 60)
    got = api("GET", f"{path}/taskInstances/https_get/xcomEntries/return_value").json().get("value") or {}
    check("https request from a task (the bundled ssl)", state == "success" and got.get("body") == TLS_BODY,
          f"{state} {got.get('openssl')}")
    check("a default TLS context finds CA certificates", (got.get("default_cas") or 0) > 0,
          f"{got.get('default_cas')} CAs")


results: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    results.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}", flush=True)


def wait(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(interval)
    return None


def main(binary: str) -> int:
    binary = str(Path(binary).resolve())
    work = Path(tempfile.mkdtemp(prefix="leoflow-smoke-"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8"}

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run([binary, "version"], cwd=work, env=env, capture_output=True, text=True, timeout=60)
        times.append(time.perf_counter() - t0)
    check("version", out.returncode == 0 and out.stdout.strip() != "",
          f"{out.stdout.strip()} in {min(times):.2f}s (first launch, which unpacks: {times[0]:.2f}s)")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = work / "home"
    log = open(work / "lite.log", "wb")
    started = time.perf_counter()
    proc = subprocess.Popen([binary, "lite", "--home", str(home), "--port", str(port)], cwd=work, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        healthy = wait(lambda: httpx.get(f"{base}/api/v2/monitor/health", timeout=1).status_code == 200, 60)
        check("lite answers health", bool(healthy), f"after {time.perf_counter() - started:.2f}s")
        if not healthy:
            return finish(work)
        check("example DAGs seeded", (home / "dags" / "example_etl.py").exists())
        # Health answers while the rest of the app is still being built; the password file comes with it.
        password_file = home / "admin-password.txt"
        password = wait(lambda: password_file.exists() and password_file.read_text().strip(), 30)
        check("admin password written", bool(password))
        token = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": password}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def api(method, path, **kw):
            return httpx.request(method, f"{base}{path}", headers={**headers, **kw.pop("headers", {})}, timeout=10, **kw)

        check_ui(base, headers)
        check("DAG parsed", bool(wait(lambda: api("GET", "/api/v2/dags/example_etl").status_code == 200, 30)))
        run = api("POST", "/api/v2/dags/example_etl/dagRuns", json={"logical_date": None}).json()
        path = f"/api/v2/dags/example_etl/dagRuns/{run['dag_run_id']}"
        state = wait(lambda: (api("GET", path).json()["state"] in ("success", "failed")) and api("GET", path).json()["state"], 60)
        check("example_etl run", state == "success", str(state))
        xcom = api("GET", f"{path}/taskInstances/transform/xcomEntries/return_value").json()
        check("transform XCom", xcom.get("value") == {"rows": 200},
              str(xcom.get("value")))
        logs = api("GET", f"{path}/taskInstances/transform/logs/1", headers={"Accept": "application/json"}).json()
        check("task log readable", any(e.get("event") == "transform got {'rows': 100}" for e in logs["content"]))

        (home / "dags" / "fork_check.py").write_text(FORK_CHECK_DAG)
        check("new DAG file picked up", bool(wait(lambda: api("GET", "/api/v2/dags/fork_check").status_code == 200, 10)))
        run = api("POST", "/api/v2/dags/fork_check/dagRuns", json={"logical_date": None}).json()
        path = f"/api/v2/dags/fork_check/dagRuns/{run['dag_run_id']}"
        state = wait(lambda: (api("GET", path).json()["state"] in ("success", "failed")) and api("GET", path).json()["state"], 60)
        where = api("GET", f"{path}/taskInstances/where_am_i/xcomEntries/return_value").json().get("value")
        forked = (state == "success" and isinstance(where, dict) and " lite " in where["self"]
                  and " lite " in where["parent"])
        check("tasks fork from the running process", forked, str(where))
        tls = TlsServer(work / "tls")
        try:
            check_tls(api, home, tls, str(tls.ca_file))
        finally:
            tls.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # The file execs the program it unpacked under HOME/.cache: look for both.
    leftovers = wait(lambda: not _processes_of(binary, work) or None, 10)
    check("kill -9 leaves no process behind", leftovers is not None, str(_processes_of(binary, work)))
    return finish(work)


def check_ui(base: str, headers: dict) -> None:
    """The Airflow UI answers from inside the executable, with the code editor served locally."""
    import re

    shell = httpx.get(f"{base}/dags/example_etl", timeout=10)
    check("UI shell for a client-side route", shell.status_code == 200 and '<base href="/"' in shell.text,
          str(shell.status_code))
    found = re.search(r'src="\./(static/assets/[^"]+\.js)"', shell.text)
    bundle = httpx.get(f"{base}/{found.group(1)}", timeout=30) if found else None
    check("UI bundle served, editor pointed at this server",
          bundle is not None and bundle.status_code == 200 and "cdn.jsdelivr.net" not in bundle.text
          and "static/monaco-editor/" in bundle.text)
    loader = httpx.get(f"{base}/static/monaco-editor/0.52.2/min/vs/loader.js", timeout=10)
    check("code editor embedded", loader.status_code == 200, str(loader.status_code))
    login = httpx.get(f"{base}/api/v2/auth/login", params={"next": "/"}, timeout=10)
    check("login page", login.status_code == 200 and 'name="password"' in login.text, str(login.status_code))
    config = httpx.get(f"{base}/ui/config", headers=headers, timeout=10)
    check("UI config", config.status_code == 200 and "auto_refresh_interval" in config.json(), str(config.status_code))


def _processes_of(binary: str, work: Path) -> list[int]:
    if not os.path.isdir("/proc"):  # macOS: ask ps (zombies excluded)
        out = subprocess.run(["ps", "-axo", "pid=,stat=,command="], capture_output=True, text=True).stdout
        return [int(line.split(None, 2)[0]) for line in out.splitlines() if len(line.split(None, 2)) == 3
                and not line.split(None, 2)[1].startswith("Z")
                and line.split(None, 2)[2].startswith((binary, str(work) + "/"))]
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            if exe == binary or exe.startswith(str(work) + "/"):
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split()[2] != "Z":
                        found.append(int(pid))
        except OSError:
            pass
    return found


def finish(work: Path) -> int:
    passed = sum(1 for _, ok, _ in results if ok)
    failed = len(results) - passed
    if failed:
        print((work / "lite.log").read_text(errors="replace")[-5000:])
    print(f"binary smoke: {passed} passed, {failed} failed")
    # Its HOME holds the unpacked program (160 MB): leave none of it behind.
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist/leoflow"))
