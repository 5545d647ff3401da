"""A class on JupyterHub, for real: the recipe of binder/hub/ run on loopback.

A real JupyterHub (the hub.config of binder/hub/config.yaml: DummyAuthenticator,
implicit spawns, servers rooted in the student's home) with a real
configurable-http-proxy and the local process spawner, one home folder per
student under the test's tmp folder.  Two students follow the nbgitpuller link
of binder/hub/nbgitpuller_link.py, as a browser would: log in, get their server
started, let nbgitpuller clone the course (a bare copy of this repository's
HEAD) into their home, land on the notebook in JupyterLab.  One of them first
gets the course from config.yaml's postStart command, so the link updates an
existing clone.  Then each runs notebook 00 of *their* copy on *their* server
through the REST API and the kernel's websocket, both at once.  Everything
started is stopped; no process is left behind.
"""
import concurrent.futures
import html
import json
import os
import re
import shlex
import signal
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

import psutil
import pytest
import requests
import websocket
import yaml

ROOT = Path(__file__).parents[2]
HUB_RECIPE = ROOT / "binder" / "hub"
VENV_BIN = Path(sys.executable).parent
NOTEBOOK = "notebooks/00_why_ipu.ipynb"
STUDENTS = ("alice", "bob")

# Every wait has a name and a short limit (seconds).
HUB_START = 60          # hub and proxy answer
HTTP = 20               # one HTTP request
SPAWN = 90              # a student's server starts
PULL = 60               # nbgitpuller clones or updates the course
KERNEL_START = 60       # a kernel answers kernel_info
CELL = 180              # one notebook cell runs
STOP = 30               # servers, hub and proxy stop


sys.path.insert(0, str(HUB_RECIPE))
from nbgitpuller_link import FOLDER, nbgitpuller_link  # noqa: E402


def proxy_command():
    """configurable-http-proxy: kit.py test installs it with npm into .cache/npm."""
    local = ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(local) if local.exists() else shutil.which("configurable-http-proxy")
    missing = [what for what, ok in (("configurable-http-proxy (npm)", found), ("node", shutil.which("node")),
                                     ("git", shutil.which("git"))) if not ok]
    if missing:
        message = (f"{' and '.join(missing)} not found: `python3 kit.py test` installs configurable-http-proxy "
                   "with npm (`npm install --prefix .cache/npm configurable-http-proxy`)")
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; under CI the hub test must run")
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recipe():
    return yaml.safe_load((HUB_RECIPE / "config.yaml").read_text())


def course_remote(tmp: Path) -> tuple[str, str]:
    """A bare copy of this repository's HEAD as branch main: what the class pulls from. (url, sha)"""
    remote = tmp / "remote" / FOLDER                 # nbgitpuller names the clone after the URL's last part
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(remote)], check=True, timeout=120)
    subprocess.run(["git", "-C", str(remote), "update-ref", "refs/heads/main", sha], check=True)
    subprocess.run(["git", "-C", str(remote), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    return remote.as_uri(), sha


class Hub:
    """JupyterHub + configurable-http-proxy on loopback; stopped with everything it started."""

    def __init__(self, tmp: Path, proxy: str):
        self.tmp, self.proxy = tmp, proxy
        self.port, self.token = free_port(), uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}"
        self.homes = tmp / "home"
        self.log_path = tmp / "jupyterhub.log"
        self.proc = None
        self.seen = {}                                  # pid -> psutil.Process started under the hub

    # --- start ---------------------------------------------------------------------
    def config(self) -> str:
        """jupyterhub_config.py: config.yaml's hub.config and singleuser settings, on loopback."""
        values = recipe()
        single = values["singleuser"]
        environment = {**single.get("extraEnv", {}),
                       "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))}
        args = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
        lines = ["c = get_config()  # noqa"]
        for cls, traits in values["hub"]["config"].items():           # as Zero to JupyterHub applies hub.config
            for trait, value in traits.items():
                lines.append(f"c.{cls}.{trait} = {value!r}")
        lines += [
            f"c.Spawner.default_url = {single['defaultUrl']!r}",
            f"c.Spawner.environment = {environment!r}",
            # the cluster's KubeSpawner becomes a local process per student, with a home each
            "c.JupyterHub.spawner_class = 'simple'",
            f"c.SimpleLocalProcessSpawner.home_dir_template = {str(self.homes / '{username}')!r}",
            f"c.Spawner.cmd = [{str(VENV_BIN / 'jupyterhub-singleuser')!r}]",
            f"c.Spawner.args = {args!r}",
            f"c.Spawner.start_timeout = {SPAWN}",
            f"c.Spawner.http_timeout = {SPAWN}",
            "c.JupyterHub.ip = '127.0.0.1'",
            f"c.JupyterHub.port = {self.port}",
            "c.JupyterHub.hub_ip = '127.0.0.1'",
            f"c.JupyterHub.hub_port = {free_port()}",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'",
            f"c.ConfigurableHTTPProxy.command = [{self.proxy!r}]",
            f"c.ConfigurableHTTPProxy.pid_file = {str(self.tmp / 'proxy.pid')!r}",
            f"c.JupyterHub.db_url = 'sqlite:///{self.tmp / 'jupyterhub.sqlite'}'",
            f"c.JupyterHub.cookie_secret_file = {str(self.tmp / 'cookie_secret')!r}",
            f"c.JupyterHub.pid_file = {str(self.tmp / 'jupyterhub.pid')!r}",
            "c.JupyterHub.cleanup_servers = True",
            # the test's own admin: stops servers, gives each student a token for their server
            f"c.JupyterHub.services = [{{'name': 'class-test', 'api_token': {self.token!r}}}]",
            "c.JupyterHub.load_roles = [{'name': 'class-test', 'services': ['class-test'],"
            " 'scopes': ['admin:users', 'admin:servers', 'tokens', 'access:servers']}]",
        ]
        path = self.tmp / "jupyterhub_config.py"
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    def start(self):
        env = dict(os.environ)
        for leak in [k for k in env if k.startswith(("JUPYTERHUB_", "PYTEST_", "IPUKIT_TARGET"))]:
            env.pop(leak)
        env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
        config = self.config()
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(VENV_BIN / "jupyterhub"), "-f", config], cwd=self.tmp, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait("the hub and its proxy to answer", HUB_START,
                  lambda: self.get(f"{self.url}/hub/api/").status_code == 200)

    # --- waiting and failing with the hub's log ---------------------------------------
    def log_tail(self, lines=150) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, message):
        pytest.fail(f"{message}\n----- JupyterHub log (last lines; the servers log here too) -----\n"
                    f"{self.log_tail()}", pytrace=False)

    def check(self, ok, message):
        if not ok:
            self.fail(message)

    def wait(self, what, timeout, probe):
        deadline = time.monotonic() + timeout
        while True:
            try:
                result = probe()
            except (requests.RequestException, OSError):
                result = None
            if result:
                return result
            if self.proc.poll() is not None:
                self.fail(f"the hub exited (code {self.proc.returncode}) while waiting for {what}")
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout} s waiting for {what}")
            self.remember_processes()
            time.sleep(0.3)

    @staticmethod
    def get(url, session=None, **kwargs):
        return (session or requests).get(url, timeout=HTTP, **kwargs)

    def api(self, method, path, **kwargs):
        r = requests.request(method, f"{self.url}/hub/api{path}", timeout=HTTP,
                             headers={"Authorization": f"token {self.token}"}, **kwargs)
        self.check(r.status_code < 400, f"hub API {method} {path}: {r.status_code} {r.text[:500]}")
        return r

    # --- stop ------------------------------------------------------------------------
    def remember_processes(self):
        """Everything under the hub (proxy, servers, kernels), while their parents still live."""
        try:
            for p in psutil.Process(self.proc.pid).children(recursive=True):
                self.seen.setdefault(p.pid, p)
        except psutil.Error:
            pass

    def stop(self) -> list:
        """Stop the servers, the hub and its proxy; kill what outlives them. Returns what had to be killed."""
        if self.proc is None:
            return []
        self.remember_processes()
        if self.proc.poll() is None:
            try:
                for name in STUDENTS:
                    requests.delete(f"{self.url}/hub/api/users/{name}/server", timeout=HTTP,
                                    headers={"Authorization": f"token {self.token}"})
                deadline = time.monotonic() + STOP
                while time.monotonic() < deadline and any(
                        p.is_running() and p.status() != psutil.STATUS_ZOMBIE and "singleuser" in " ".join(p.cmdline())
                        for p in self.seen.values()):
                    time.sleep(0.3)
            except (requests.RequestException, psutil.Error):
                pass
            os.killpg(self.proc.pid, signal.SIGTERM)        # the hub stops its proxy and any server left
            try:
                self.proc.wait(timeout=STOP)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP)
        self.log.close()
        survivors = []
        for p in self.seen.values():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    survivors.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
                    os.killpg(p.pid, signal.SIGKILL) if os.getpgid(p.pid) == p.pid else p.kill()
            except (psutil.Error, ProcessLookupError):
                pass
        return survivors


# --- one student, as a browser would do it -------------------------------------------------
def data_attributes(page: str) -> dict:
    return {k: unquote(html.unescape(v)) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', page)}


def follow_link(hub: Hub, name: str, link: str) -> requests.Session:
    """Open the nbgitpuller link: log in, get the server started, let nbgitpuller pull; land on the notebook."""
    s = requests.Session()
    r = hub.get(link, s)
    hub.check(r.status_code == 200 and urlsplit(r.url).path == "/hub/login", f"{name}: no login page: {r.url}")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.text)
    hub.check(xsrf, f"{name}: the login form has no _xsrf field")
    r = s.post(r.url, data={"username": name, "password": "any", "_xsrf": html.unescape(xsrf.group(1))},
               timeout=HTTP)

    def server_page():
        nonlocal r
        if r.status_code == 424:                              # "server not running": implicit spawn
            spawn = re.search(r'href="([^"]*/hub/spawn/[^"]*)"', r.text)
            hub.check(spawn, f"{name}: the not-running page has no spawn link")
            r = hub.get(hub.url + html.unescape(spawn.group(1)), s)
        elif "/hub/spawn-pending/" in r.url:                   # progress page: ask again
            r = hub.get(r.url, s)
        return r.status_code == 200 and f"/user/{name}/git-pull" in r.url

    hub.wait(f"{name}'s server to start and serve nbgitpuller", SPAWN, server_page)
    page = data_attributes(r.text)
    base = f"{hub.url}{page['base-url']}"
    hub.check(page.get("path", "").startswith(f"lab/tree/{FOLDER}/"), f"{name}: nbgitpuller page {page}")

    # what nbgitpuller's page does in the browser: an event stream from git-pull/api, then a redirect
    query = {"_xsrf": page["xsrf"], "repo": page["repo"], "targetpath": page["targetpath"]}
    if page.get("branch"):
        query["branch"] = page["branch"]
    events = []
    with s.get(f"{base}git-pull/api?{urlencode(query)}", stream=True, timeout=PULL) as stream:
        hub.check(stream.status_code == 200, f"{name}: git-pull/api answered {stream.status_code}")
        deadline = time.monotonic() + PULL
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if events[-1].get("phase") in ("finished", "error"):
                    break
            hub.check(time.monotonic() < deadline, f"{name}: nbgitpuller still pulling after {PULL} s")
    hub.check(events and events[-1].get("phase") == "finished",
              f"{name}: nbgitpuller did not finish: {events[-3:]}")
    r = hub.get(base + page["path"], s)
    hub.check(r.status_code == 200 and "JupyterLab" in r.text, f"{name}: {page['path']} gave {r.status_code}")
    return s


def run_notebook(hub: Hub, name: str, token: str, path: str) -> tuple[float, list, str]:
    """Run the notebook's code cells in a kernel of ``name``'s server; (seconds, errors, course folder)."""
    auth = {"Authorization": f"token {token}"}
    api = f"{hub.url}/user/{name}/api"
    nb = requests.get(f"{api}/contents/{path}", headers=auth, timeout=HTTP)
    hub.check(nb.status_code == 200, f"{name}: contents API on {path}: {nb.status_code}")
    cells = [c for c in nb.json()["content"]["cells"] if c["cell_type"] == "code"]
    session = requests.post(f"{api}/sessions", headers=auth, timeout=HTTP,
                            json={"path": path, "name": Path(path).name, "type": "notebook",
                                  "kernel": {"name": "python3"}})
    hub.check(session.status_code == 201, f"{name}: could not start a kernel: {session.text[:300]}")
    session = session.json()
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{hub.port}/user/{name}/api/kernels/{session['kernel']['id']}/channels"
        f"?session_id={uuid.uuid4().hex}", header=[f"Authorization: token {token}"], timeout=HTTP)
    client = uuid.uuid4().hex

    def request(msg_type, content, timeout, what):
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": msg_type, "session": client, "username": name,
                                       "version": "5.3", "date": ""}, "parent_header": {}, "metadata": {},
                            "content": content, "channel": "shell", "buffers": []}))
        reply, idle, out, errors = None, msg_type != "execute_request", [], []
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            left = deadline - time.monotonic()
            hub.check(left > 0, f"{name}: timed out after {timeout} s waiting for {what}")
            ws.settimeout(left)
            try:
                msg = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind.endswith("_reply"):
                reply = msg["content"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
            elif kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        return reply, "".join(out), errors

    try:
        request("kernel_info_request", {}, KERNEL_START, "the kernel to start")
        start, errors = time.monotonic(), []
        for i, cell in enumerate(cells):
            code = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            reply, _, errs = request("execute_request", {"code": code, "silent": False, "store_history": True,
                                                         "user_expressions": {}, "allow_stdin": False,
                                                         "stop_on_error": True}, CELL, f"code cell {i}")
            if "raises-exception" not in cell.get("metadata", {}).get("tags", []):
                errors += [f"cell {i}: {e}" for e in errs or ([reply.get("ename", "?")]
                                                                  if reply.get("status") != "ok" else [])]
        seconds = time.monotonic() - start
        _, course, _ = request("execute_request", {"code": "from ipukit.exercise import repo_root\n"
                                                           "print(repo_root(), end='')", "silent": False},
                               CELL, "the course folder")
    finally:
        ws.close()
        requests.delete(f"{api}/sessions/{session['id']}", headers=auth, timeout=HTTP)
    return seconds, errors, course


def run_post_start(home: Path, remote: str):
    """config.yaml's postStart command in a student's home, with the class's repository made local."""
    command = recipe()["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert command[:2] == ["sh", "-c"] and "gitpuller https://github.com/ipukit/ipukit main" in command[2]
    script = command[2].replace("https://github.com/ipukit/ipukit", shlex.quote(remote))
    script = script.replace("|| true", "")                   # here a failed pull must fail the test
    home.mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "PATH": os.pathsep.join([str(VENV_BIN), os.environ["PATH"]])}
    r = subprocess.run(["sh", "-c", script], cwd=home.parent, env=env, capture_output=True, text=True,
                       timeout=PULL)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (home / FOLDER / NOTEBOOK).is_file()


# --- the recipe ------------------------------------------------------------------------------------
def test_config_yaml_is_a_zero_to_jupyterhub_values_file():
    values = recipe()
    single = values["singleuser"]
    assert single["image"]["name"] and isinstance(single["image"]["tag"], str)   # a quoted tag stays a string
    from jupyterhub.app import JupyterHub                                      # hub.config: real traits
    from jupyterhub.auth import Authenticator, DummyAuthenticator
    from jupyterhub.spawner import Spawner
    classes = {"JupyterHub": JupyterHub, "Authenticator": Authenticator, "Spawner": Spawner,
               "DummyAuthenticator": DummyAuthenticator}
    for cls, traits in values["hub"]["config"].items():
        for trait in traits:
            assert classes[cls].class_traits(config=True).get(trait) is not None, f"hub.config.{cls}.{trait}"
    assert {"/lab", "1"} <= {single["defaultUrl"], single["extraEnv"]["IPUKIT_QUIET"]}
    # the image is the Binder recipe's, and it can serve a JupyterHub and nbgitpuller
    requirements = (ROOT / "binder" / "requirements.txt").read_text()
    assert re.search(r"^jupyterhub>=5\.\d+,<6$", requirements, re.M)
    assert re.search(r"^nbgitpuller>=", requirements, re.M)
    link = nbgitpuller_link("https://hub.example.org")
    assert link == ("https://hub.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fipukit"
                    "%2Fipukit&urlpath=lab%2Ftree%2Fipukit%2Fnotebooks%2F00_why_ipu.ipynb&branch=main")


@pytest.mark.slow
def test_a_class_of_two_on_jupyterhub(tmp_path):
    proxy = proxy_command()
    started = time.monotonic()
    remote, sha = course_remote(tmp_path)
    hub = Hub(tmp_path, proxy)
    survivors = []
    try:
        hub.start()
        run_post_start(hub.homes / "bob", remote)             # bob's pod ran the postStart hook
        link = nbgitpuller_link(hub.url, repo=remote, branch="main")
        for name in STUDENTS:
            follow_link(hub, name, link)
            clone = hub.homes / name / FOLDER
            head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True)
            hub.check(head.stdout.strip() == sha, f"{name}: ~/{FOLDER} is at {head.stdout!r}, not {sha}")
        tokens = {name: hub.api("POST", f"/users/{name}/tokens", json={
            "note": "class test", "expires_in": 600, "scopes": [f"access:servers!user={name}"]}).json()["token"]
            for name in STUDENTS}
        other = requests.get(f"{hub.url}/user/bob/api/status", timeout=HTTP,
                             headers={"Authorization": f"token {tokens['alice']}"})
        hub.check(other.status_code == 403, f"alice's token opened bob's server: {other.status_code}")
        with concurrent.futures.ThreadPoolExecutor(len(STUDENTS)) as pool:     # both students at once
            runs = dict(zip(STUDENTS, pool.map(
                lambda name: run_notebook(hub, name, tokens[name], f"{FOLDER}/{NOTEBOOK}"), STUDENTS)))
        hub.remember_processes()
        for name, (seconds, errors, course) in runs.items():
            hub.check(not errors, f"{name}: notebook 00 raised {errors}")
            hub.check(course == str(hub.homes / name / FOLDER),
                      f"{name}: exercises are graded from {course!r}, not their own copy")
            print(f"{name}: notebook 00 ran in {seconds:.1f} s on their own server")
    finally:
        survivors = hub.stop()
    assert not survivors, f"processes outlived the hub and were killed: {survivors}"
    print(f"hub test: {time.monotonic() - started:.0f} s in all")
