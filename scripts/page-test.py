#!/usr/bin/env python3
"""Drives the page of `facetwin serve` in headless Chromium (Debian's chromium and
chromium-driver) through plain WebDriver HTTP, no Selenium: enroll a person from two photos,
verify a photo of them (a match) and of someone else (no match), identify, delete, and a photo
from Chromium's fake camera (a test pattern: refused, no face). Saves a
screenshot after each step into --shots and exits 1 if a step does not show what it should.

    scripts/page-test.py --facetwin .build/debug/facetwin --model models/dlib-resnet.safetensors \
        --shots /tmp/page-shots

Photos default to ORL's s1 (enrolled: 1, 2; match: 3) and s2 (no match: 1).
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class WebDriver:
    def __init__(self, url):
        self.url = url
        self.session = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return json.loads(response.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.code} {e.read()[:300]!r}")

    def start(self, chromium):
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1360,1250",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        value = self.call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": {"binary": chromium, "args": args}}}})
        self.session = value["sessionId"]

    def s(self, path):
        return f"/session/{self.session}{path}"

    def go(self, url):
        self.call("POST", self.s("/url"), {"url": url})

    def find(self, css):
        value = self.call("POST", self.s("/element"), {"using": "css selector", "value": css})
        return next(iter(value.values()))

    def type(self, css, text):
        self.call("POST", self.s(f"/element/{self.find(css)}/value"), {"text": text})

    def click(self, css):
        self.call("POST", self.s(f"/element/{self.find(css)}/click"), {})

    def script(self, code, *args):
        return self.call("POST", self.s("/execute/sync"), {"script": code, "args": list(args)})

    def text(self, css):
        return self.script("return document.querySelector(arguments[0]).innerText", css)

    def wait_text(self, css, pattern, seconds=60):
        deadline = time.time() + seconds
        text = ""
        while time.time() < deadline:
            text = self.text(css) or ""
            if re.search(pattern, text):
                return text
            time.sleep(0.2)
        raise RuntimeError(f"{css} never showed /{pattern}/: it shows {text!r}")

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", self.s("/screenshot"))))

    def accept_alert(self):
        self.call("POST", self.s("/alert/accept"), {})

    def quit(self):
        if self.session:
            try:
                self.call("DELETE", self.s(""))
            except Exception:
                pass


def main():
    orl = os.path.join(ROOT, "data", "orl")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--facetwin", default=os.path.join(ROOT, ".build", "debug", "facetwin"))
    p.add_argument("--model", required=True)
    p.add_argument("--shots", required=True, help="folder for the screenshots")
    p.add_argument("--enroll", nargs=2, default=[f"{orl}/s1/1.pgm", f"{orl}/s1/2.pgm"])
    p.add_argument("--match", default=f"{orl}/s1/3.pgm")
    p.add_argument("--other", default=f"{orl}/s2/1.pgm")
    p.add_argument("--name", default="Ada Example")
    p.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    p.add_argument("--chromedriver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    a = p.parse_args()
    for tool in (a.chromium, a.chromedriver):
        if not os.access(tool, os.X_OK):
            print(f"page-test: {tool} is missing: apt-get install chromium chromium-driver", file=sys.stderr)
            return 2
    os.makedirs(a.shots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="facetwin-page-")
    gallery = os.path.join(work, "g.sqlite")
    key = subprocess.run([a.facetwin, "keys", "add", "--gallery", gallery, "--model", a.model, "--role", "admin", "page"],
                         check=True, capture_output=True, text=True).stdout.strip()
    port, driver_port = free_port(), free_port()
    server = subprocess.Popen([a.facetwin, "serve", "--model", a.model, "--gallery", gallery,
                               "--listen", f"127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True)
    server.stderr.readline()  # "facetwin: serving …": listening
    chromedriver = subprocess.Popen([a.chromedriver, f"--port={driver_port}"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    web = WebDriver(f"http://127.0.0.1:{driver_port}")
    failures = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(web.url + "/status", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        web.start(a.chromium)
        web.go(f"http://127.0.0.1:{port}/")
        web.type("#key", key)
        web.click("#saveKey")
        web.wait_text("#model", r"threshold")

        def step(name, action, css, pattern):
            try:
                action()
                shown = web.wait_text(css, pattern)
                print(f"{name}: {' '.join(shown.split())[:160]}")
            except Exception as e:
                failures.append(f"{name}: {e}")
                print(f"{name}: FAILED: {e}")
            web.screenshot(os.path.join(a.shots, f"{name}.png"))

        def enroll():
            web.type("#enrollName", a.name)
            web.type("#enrollFiles", "\n".join(a.enroll))
            web.click("#enrollGo")

        def verify(photo):
            def act():
                web.script("document.getElementById('verifyFile').value = ''; document.getElementById('verifyClaim').value = ''")
                web.type("#verifyClaim", a.name)
                web.type("#verifyFile", photo)
                web.click("#verifyGo")
            return act

        def identify():
            web.type("#identifyFile", a.match)
            web.click("#identifyGo")

        def delete():
            web.click("#people button.danger")
            web.accept_alert()

        step("1-enroll", enroll, "#enrollResult", r"Enrolled .*\n.*2 photo")
        step("2-verify-match", verify(a.match), "#verifyResult", r"^MATCH")
        step("3-verify-no-match", verify(a.other), "#verifyResult", r"^NO MATCH")
        step("4-identify", identify, "#identifyResult", re.escape(a.name))
        step("5-delete", delete, "#galleryResult", r"deleted .* \(2 templates\)")

        def camera():
            web.click("#startCamera")
            web.wait_text("#snap", "Take photo")
            time.sleep(1.5)  # Chromium's fake camera: a moving test pattern, no face
            web.click("#snap")
            time.sleep(0.5)
            web.script("document.getElementById('identifyFile').value = ''")
            web.click("#identifyShot")
            web.click("#identifyGo")

        step("6-camera-no-face", camera, "#identifyResult", r"camera\.jpg: .*no face")
        people = web.script("return document.getElementById('people').rows.length")
        if people != 0:
            failures.append(f"the gallery table still has {people} rows after the delete")
    except Exception as e:
        failures.append(str(e))
    finally:
        web.quit()
        chromedriver.terminate()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("page-test: " + "; ".join(failures), file=sys.stderr)
        return 1
    print(f"page-test: 6 steps passed; screenshots in {a.shots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
