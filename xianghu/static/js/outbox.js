// The phone's outbox: calls written without a network wait here (IndexedDB) and are sent
// when it returns. Progressive enhancement: without scripts, or online, forms post as usual.
//
// A form marked data-offline-draft is kept instead of posted when the browser is offline.
// Each kept call (or public report) gets its own idempotency key, so sending it twice (a lost answer, two tabs)
// still makes one call. Sending fetches the form page again for a fresh CSRF token, posts
// the kept fields and photos, and removes the call from the outbox once the server answers
// with the new call's page. Kept calls belong to the user who wrote them: nobody else's
// session sends them.
(function () {
  "use strict";
  var DB = "xh-outbox", STORE = "drafts", SENT = "xh-outbox-sent";
  var body = document.body;
  // Anonymous visitors (a resident reporting without an account) share the "anon" outbox.
  var user = (body ? body.getAttribute("data-user") : "") || "anon";
  var t = {};
  try { t = JSON.parse((document.getElementById("outbox-text") || {}).textContent || "{}"); } catch (e) { t = {}; }

  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var store = db.transaction(STORE, mode).objectStore(STORE);
        var result = work(store);
        store.transaction.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        store.transaction.onerror = function () { reject(store.transaction.error); };
      });
    });
  }
  function all() { return tx("readonly", function (s) { return s.getAll(); }); }
  function put(draft) { return tx("readwrite", function (s) { return s.put(draft); }); }
  function remove(id) { return tx("readwrite", function (s) { return s.delete(id); }); }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return "pwa-" + crypto.randomUUID(); }
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return "pwa-" + Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function keep(form) {
    var fields = [], files = [];
    new FormData(form).forEach(function (value, name) {
      if (value instanceof File) {
        if (value.size) { files.push({ name: name, blob: value, filename: value.name, type: value.type }); }
      } else if (name === "idempotency_key") {
        fields.push([name, newKey()]);
      } else {
        fields.push([name, value]);
      }
    });
    var title = (form.querySelector("[name=title]") || form.querySelector("[name=description]") || {}).value || "";
    return put({ user: user, action: form.getAttribute("action") || location.pathname, fields: fields,
                 files: files, title: title.slice(0, 120), created: new Date().toISOString(), error: "",
                 success: form.getAttribute("data-offline-success") || "" });
  }

  function sentList() {
    try { return JSON.parse(sessionStorage.getItem(SENT) || "[]"); } catch (e) { return []; }
  }
  function remember(title, url) {
    var list = sentList(); list.push({ title: title, url: url });
    sessionStorage.setItem(SENT, JSON.stringify(list.slice(-10)));
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function render() {
    var box = document.getElementById("outbox");
    if (!box) { return Promise.resolve(); }
    return all().then(function (drafts) {
      drafts = drafts.filter(function (d) { return d.user === user; });
      var sent = sentList();
      box.textContent = "";
      box.hidden = !drafts.length && !sent.length;
      if (box.hidden) { return; }
      if (drafts.length) {
        box.appendChild(el("h2", {}, (t.waiting || "Waiting to be sent") + " (" + drafts.length + ")"));
        box.appendChild(el("p", { "class": "muted" }, t.explain || ""));
        var ul = el("ul", { "class": "outbox-list" });
        drafts.forEach(function (d) {
          var li = el("li", { "data-testid": "outbox-item" });
          li.appendChild(el("strong", {}, d.title || "—"));
          li.appendChild(el("span", { "class": "muted" }, " " + d.created.slice(0, 16).replace("T", " ")));
          if (d.error) {
            li.appendChild(el("p", { "class": "field-error", "data-testid": "outbox-error" }, d.error));
            var drop = el("button", { type: "button", "class": "button button-small", "data-testid": "outbox-drop" }, t.drop || "Discard");
            drop.addEventListener("click", function () { remove(d.id).then(render); });
            li.appendChild(drop);
          }
          ul.appendChild(li);
        });
        box.appendChild(ul);
      }
      if (sent.length) {
        box.appendChild(el("h2", {}, t.sent || "Sent"));
        var ol = el("ul", { "class": "outbox-list" });
        sent.forEach(function (s) {
          var li = el("li", { "data-testid": "outbox-sent" });
          li.appendChild(el("a", { href: s.url }, s.title || s.url));
          ol.appendChild(li);
        });
        box.appendChild(ol);
      }
    });
  }

  function errorsOf(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var parts = [];
    doc.querySelectorAll("[data-testid=form-error] p, .field-error").forEach(function (n) {
      if (n.textContent.trim()) { parts.push(n.textContent.trim()); }
    });
    return parts.join(" ") || (t.refused || "The server refused it.");
  }

  var sending = false;
  function sendOne(d) {
    return fetch(d.action, { credentials: "same-origin" }).then(function (page) {
      if (page.redirected && /\/accounts\/login/.test(page.url)) { throw new Error("login"); }
      return page.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var token = doc.querySelector("[name=csrfmiddlewaretoken]");
      var data = new FormData();
      d.fields.forEach(function (f) {
        data.append(f[0], f[0] === "csrfmiddlewaretoken" && token ? token.value : f[1]);
      });
      d.files.forEach(function (f) { data.append(f.name, new File([f.blob], f.filename, { type: f.type })); });
      return fetch(d.action, { method: "POST", body: data, credentials: "same-origin" });
    }).then(function (response) {
      // Success is the page the form's server answers with: a form may say which
      // (data-offline-success, a pattern of the path); by default the new call's page.
      var done = d.success ? new RegExp(d.success) : /\/calls\/\d+\/$/;
      if (response.ok && done.test(new URL(response.url).pathname)) {
        remember(d.title, new URL(response.url).pathname);
        return remove(d.id);
      }
      return response.text().then(function (html) {
        d.error = errorsOf(html);
        return put(d);
      });
    });
  }

  function sync() {
    if (sending || !navigator.onLine || !user) { return Promise.resolve(); }
    sending = true;
    return all().then(function (drafts) {
      var mine = drafts.filter(function (d) { return d.user === user && !d.error; });
      return mine.reduce(function (p, d) { return p.then(function () { return sendOne(d); }); }, Promise.resolve());
    }).catch(function () { /* offline again or logged out: kept for the next try */ })
      .then(function () { sending = false; return render(); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-offline-draft") || navigator.onLine) { return; }
    event.preventDefault();
    keep(form).then(function () {
      form.reset();
      var note = document.getElementById("offline-saved");
      if (note) { note.hidden = false; }
      return render();
    });
  });

  window.addEventListener("online", function () { sync(); });
  window.xhOutbox = { sync: sync, render: render, all: all };
  if (!window.indexedDB) { return; }
  if (user) { render().then(sync); }
})();
