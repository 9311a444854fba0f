/// The page served at `/`: plain HTML, CSS and JavaScript, no build step, no external file.
/// It talks to the JSON API with the key the user pastes (kept in the browser's localStorage).
enum WebPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>FaceTwin</title>
        <style>
          :root { --ink: #1d2330; --muted: #667085; --line: #d8dde6; --ok: #137a3a; --no: #b42318; --accent: #2f5bd3; }
          * { box-sizing: border-box; }
          body { font: 15px/1.45 system-ui, sans-serif; color: var(--ink); margin: 0; background: #f5f6f8; }
          header { background: var(--ink); color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
          header h1 { font-size: 18px; margin: 0 12px 0 0; }
          header input { width: 24em; }
          header span.keybox { display: inline-flex; gap: 6px; align-items: center; }
          header button { margin-top: 0; white-space: nowrap; }
          header .model { color: #c8cede; font-size: 13px; }
          main { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 14px; padding: 14px; }
          section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
          section h2 { font-size: 16px; margin: 0 0 8px; }
          label { display: block; margin: 6px 0 2px; color: var(--muted); font-size: 13px; }
          input[type=text], input[type=password] { padding: 5px 7px; border: 1px solid var(--line); border-radius: 5px; font: inherit; width: 100%; }
          button { font: inherit; padding: 5px 12px; border-radius: 5px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; margin-top: 8px; }
          button.plain { background: #fff; color: var(--accent); }
          button.danger { border-color: var(--no); background: #fff; color: var(--no); margin: 0; padding: 2px 8px; }
          .result { margin-top: 10px; min-height: 20px; }
          .verdict { font-weight: 700; font-size: 17px; }
          .match { color: var(--ok); } .nomatch { color: var(--no); } .error { color: var(--no); }
          .crops img, .crop { width: 112px; height: 112px; image-rendering: pixelated; border: 1px solid var(--line); border-radius: 4px; margin: 4px 4px 0 0; }
          .meter { position: relative; min-width: 120px; height: 12px; background: #eef0f4; border-radius: 6px; margin: 6px 0; }
          .meter .fill { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 6px; }
          .meter .mark { position: absolute; top: -3px; bottom: -3px; width: 2px; background: var(--ink); }
          .small { color: var(--muted); font-size: 13px; }
          table { border-collapse: collapse; width: 100%; }
          th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); font-size: 14px; }
          video { width: 100%; max-width: 320px; background: #000; border-radius: 5px; display: none; }
          .shots img { width: 64px; height: 48px; object-fit: cover; margin: 3px; border-radius: 3px; }
        </style>
        </head>
        <body>
        <header>
          <h1>FaceTwin</h1>
          <span class="keybox"><input id="key" type="password" placeholder="API key (ftk_…)" autocomplete="off"> <button id="saveKey" class="plain">Use key</button></span>
          <span class="model" id="model"></span>
        </header>
        <main>
          <section id="camera">
            <h2>Camera</h2>
            <video id="video" autoplay playsinline muted></video>
            <div><button id="startCamera" class="plain">Start camera</button> <button id="snap" class="plain" disabled>Take photo</button></div>
            <div class="small">A photo taken here can be added to enroll, verify or identify.</div>
            <div class="shots" id="lastShot"></div>
          </section>
          <section id="enroll">
            <h2>Enroll</h2>
            <label for="enrollName">Name</label><input id="enrollName" type="text">
            <label for="enrollFiles">Photos</label><input id="enrollFiles" type="file" accept="image/*" multiple>
            <div class="shots" id="enrollShots"></div>
            <button id="enrollShot" class="plain">Add camera photo</button> <button id="enrollGo">Enroll</button>
            <div class="result" id="enrollResult"></div>
          </section>
          <section id="verify">
            <h2>Verify</h2>
            <label for="verifyClaim">Claimed identity</label><input id="verifyClaim" type="text" list="names">
            <label for="verifyFile">Photo</label><input id="verifyFile" type="file" accept="image/*">
            <button id="verifyShot" class="plain">Use camera photo</button> <button id="verifyGo">Verify</button>
            <div class="result" id="verifyResult"></div>
          </section>
          <section id="identify">
            <h2>Identify</h2>
            <label for="identifyFile">Photo</label><input id="identifyFile" type="file" accept="image/*">
            <button id="identifyShot" class="plain">Use camera photo</button> <button id="identifyGo">Identify</button>
            <div class="result" id="identifyResult"></div>
          </section>
          <section id="gallery">
            <h2>Gallery</h2>
            <table><thead><tr><th>Name</th><th>Templates</th><th>Enrolled</th><th></th></tr></thead><tbody id="people"></tbody></table>
            <button id="refresh" class="plain">Refresh</button>
            <div class="result" id="galleryResult"></div>
          </section>
        </main>
        <datalist id="names"></datalist>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        let key = localStorage.getItem("facetwin-key") || "";
        $("key").value = key;
        let lastShot = null, verifyShot = null, identifyShot = null;
        const enrollShots = [];

        function headers() { return key ? { "Authorization": "Bearer " + key } : {}; }
        function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c])); }
        function fmt(x) { return Number(x).toFixed(3); }
        function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

        async function call(method, path, body) {
          const response = await fetch(path, { method, headers: headers(), body });
          let data = null;
          try { data = await response.json(); } catch (e) { data = { error: response.status + " " + response.statusText }; }
          if (!response.ok) throw new Error(data.error || ("HTTP " + response.status));
          return data;
        }

        function showError(target, error) { $(target).innerHTML = '<span class="error">' + esc(error.message) + "</span>"; }

        function meter(distance, threshold, match) {
          const top = Math.max(threshold * 2, distance * 1.1, 0.01);
          const fill = Math.min(100, (distance / top) * 100), mark = (threshold / top) * 100;
          return '<div class="meter" title="distance ' + fmt(distance) + ", threshold " + fmt(threshold) + '">' +
            '<div class="fill" style="width:' + fill + "%;background:" + (match ? "var(--ok)" : "var(--no)") + '"></div>' +
            '<div class="mark" style="left:' + mark + '%"></div></div>';
        }

        async function loadModel() {
          try {
            const m = await call("GET", "/v1/model");
            $("model").textContent = m.format + " model " + m.fingerprint.slice(0, 12) + ", threshold " + fmt(m.threshold) + " (" + m.thresholdMethod + ")";
          } catch (e) { $("model").textContent = e.message; }
        }

        async function loadGallery() {
          try {
            const g = await call("GET", "/v1/identities");
            $("people").innerHTML = g.identities.map((p) =>
              "<tr><td>" + esc(p.name) + "</td><td>" + p.templateCount + "</td><td>" + esc(new Date(p.enrolledAt).toLocaleString()) +
              '</td><td><button class="danger" data-name="' + esc(p.name) + '">Delete</button></td></tr>').join("");
            $("names").innerHTML = g.identities.map((p) => '<option value="' + esc(p.name) + '">').join("");
            $("galleryResult").textContent = plural(g.identities.length, "identity", "identities") + ", " + plural(g.templateCount, "template", "templates");
          } catch (e) { showError("galleryResult", e); }
        }

        $("people").addEventListener("click", async (event) => {
          const name = event.target.dataset && event.target.dataset.name;
          if (!name || !confirm("Delete " + name + " and all their templates?")) return;
          try {
            const r = await call("DELETE", "/v1/identities/" + encodeURIComponent(name));
            await loadGallery();
            $("galleryResult").textContent = "deleted " + r.removed + " (" + r.templates + " templates); " + $("galleryResult").textContent;
          } catch (e) { showError("galleryResult", e); }
        });

        $("saveKey").onclick = () => { key = $("key").value.trim(); localStorage.setItem("facetwin-key", key); loadModel(); loadGallery(); };
        $("refresh").onclick = loadGallery;

        $("startCamera").onclick = async () => {
          try {
            const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
            $("video").srcObject = stream; $("video").style.display = "block"; $("snap").disabled = false;
          } catch (e) { $("lastShot").innerHTML = '<span class="error">camera: ' + esc(e.message) + "</span>"; }
        };
        $("snap").onclick = () => {
          const v = $("video"), c = document.createElement("canvas");
          c.width = v.videoWidth || 640; c.height = v.videoHeight || 480;
          c.getContext("2d").drawImage(v, 0, 0, c.width, c.height);
          c.toBlob((blob) => { lastShot = blob; $("lastShot").innerHTML = '<img alt="camera photo" src="' + URL.createObjectURL(blob) + '">'; }, "image/jpeg", 0.92);
        };
        function needShot(target) { if (!lastShot) { $(target).innerHTML = '<span class="error">take a camera photo first</span>'; return false; } return true; }
        $("enrollShot").onclick = () => {
          if (!needShot("enrollResult")) return;
          enrollShots.push(lastShot);
          $("enrollShots").innerHTML = enrollShots.map((b) => '<img alt="" src="' + URL.createObjectURL(b) + '">').join("");
        };
        $("verifyShot").onclick = () => { if (needShot("verifyResult")) { verifyShot = lastShot; $("verifyResult").textContent = "camera photo ready"; } };
        $("identifyShot").onclick = () => { if (needShot("identifyResult")) { identifyShot = lastShot; $("identifyResult").textContent = "camera photo ready"; } };

        $("enrollGo").onclick = async () => {
          const form = new FormData();
          form.append("name", $("enrollName").value.trim());
          for (const f of $("enrollFiles").files) form.append("photo", f, f.name);
          enrollShots.forEach((b, i) => form.append("photo", b, "camera-" + (i + 1) + ".jpg"));
          $("enrollResult").textContent = "enrolling…";
          try {
            const r = await call("POST", "/v1/enroll?crop=true", form);
            let html = '<div class="verdict match">Enrolled ' + esc(r.identity) + "</div><div>" + r.enrolled.length +
              " photo(s) added, " + r.templateCount + " template(s) in all</div>";
            for (const s of r.skipped.concat(r.duplicates)) html += '<div class="small">skipped ' + esc(s.path) + ": " + esc(s.reason) + "</div>";
            html += '<div class="crops">' + Object.entries(r.crops || {}).map(([n, src]) => '<img alt="' + esc(n) + '" title="' + esc(n) + '" src="' + src + '">').join("") + "</div>";
            $("enrollResult").innerHTML = html;
            enrollShots.length = 0; $("enrollShots").innerHTML = "";
            await loadGallery();
          } catch (e) { showError("enrollResult", e); }
        };

        function photoFrom(input, shot) {
          const f = $(input).files[0];
          if (f) return [f, f.name];
          if (shot) return [shot, "camera.jpg"];
          return null;
        }

        $("verifyGo").onclick = async () => {
          const photo = photoFrom("verifyFile", verifyShot);
          if (!photo) { $("verifyResult").innerHTML = '<span class="error">choose a photo</span>'; return; }
          const form = new FormData();
          form.append("claim", $("verifyClaim").value.trim());
          form.append("photo", photo[0], photo[1]);
          $("verifyResult").textContent = "verifying…";
          try {
            const r = await call("POST", "/v1/verify?crop=true", form);
            $("verifyResult").innerHTML = '<img class="crop" alt="aligned crop" src="' + r.crop + '">' +
              '<div class="verdict ' + (r.match ? "match" : "nomatch") + '">' + (r.match ? "MATCH " : "NO MATCH ") + esc(r.claim) + "</div>" +
              "<div>distance " + fmt(r.distance) + (r.match ? " ≤ " : " > ") + "threshold " + fmt(r.threshold) + "</div>" +
              meter(r.distance, r.threshold, r.match) + '<div class="small">nearest of ' + r.templatesCompared + " template(s)</div>";
          } catch (e) { showError("verifyResult", e); }
        };

        $("identifyGo").onclick = async () => {
          const photo = photoFrom("identifyFile", identifyShot);
          if (!photo) { $("identifyResult").innerHTML = '<span class="error">choose a photo</span>'; return; }
          const form = new FormData();
          form.append("photo", photo[0], photo[1]);
          $("identifyResult").textContent = "identifying…";
          try {
            const r = await call("POST", "/v1/identify?crop=true&top=3", form);
            let html = '<img class="crop" alt="aligned crop" src="' + r.crop + '">' +
              '<div class="verdict ' + (r.identity ? "match" : "nomatch") + '">' + (r.identity ? esc(r.identity) : "unknown") + "</div>";
            html += "<table><tr><th>Candidate</th><th>Distance</th><th></th></tr>" + r.candidates.map((c) =>
              "<tr><td>" + esc(c.name) + "</td><td>" + fmt(c.distance) + "</td><td>" + meter(c.distance, r.threshold, c.isMatch) + "</td></tr>").join("") +
              '</table><div class="small">threshold ' + fmt(r.threshold) + "</div>";
            $("identifyResult").innerHTML = html;
          } catch (e) { showError("identifyResult", e); }
        };

        loadModel();
        loadGallery();
        </script>
        </body>
        </html>
        """#
}
