/* Forewarn web chat: one script tag on any page.
 *   <script src="https://care.example.com/static/forewarn/chat.js" data-offline-email="care@example.com" defer></script>
 * Opens a chat with the support team; answers arrive live (server-sent events). Without a connection
 * it says where to write instead. Keeps no cookies: the chat's token lives in this site's localStorage. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script.src).origin;
  var offlineEmail = script.getAttribute("data-offline-email") || "";
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en").slice(0, 2);
  var WORDS = {
    en: { open: "Chat with us", title: "Support", placeholder: "Write a message…", send: "Send", you: "You", us: "Support",
          attach: "Attach a file", offline: "We cannot connect right now. Write to us at ", name: "Your name (optional)", email: "Your email (optional)", close: "Close" },
    uk: { open: "Написати нам", title: "Підтримка", placeholder: "Напишіть повідомлення…", send: "Надіслати", you: "Ви", us: "Підтримка",
          attach: "Додати файл", offline: "Зараз не вдається з'єднатися. Напишіть нам на ", name: "Ваше ім'я (необов'язково)", email: "Ваш email (необов'язково)", close: "Закрити" },
    ru: { open: "Написать нам", title: "Поддержка", placeholder: "Напишите сообщение…", send: "Отправить", you: "Вы", us: "Поддержка",
          attach: "Прикрепить файл", offline: "Сейчас не удаётся подключиться. Напишите нам на ", name: "Ваше имя (необязательно)", email: "Ваш email (необязательно)", close: "Закрыть" }
  };
  var t = WORDS[lang] || WORDS.en;
  var KEY = "forewarn-chat:" + base;
  var token = null, last = 0, source = null, seen = {};

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }
  var style = el("style");
  style.textContent =
    ".fw-chat-open{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;padding:.7rem 1rem;border-radius:2rem;border:0;background:#1d4ed8;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer}" +
    ".fw-chat{position:fixed;right:1rem;bottom:1rem;z-index:2147483001;width:min(22rem,calc(100vw - 2rem));height:min(30rem,calc(100vh - 2rem));display:flex;flex-direction:column;background:#fff;border:1px solid #ccd3df;border-radius:.8rem;box-shadow:0 8px 30px rgba(0,0,0,.15);font:14px/1.4 system-ui,sans-serif;color:#1d2330}" +
    ".fw-chat header{display:flex;justify-content:space-between;align-items:center;padding:.6rem .8rem;background:#1d4ed8;color:#fff;border-radius:.8rem .8rem 0 0;font-weight:600}" +
    ".fw-chat header button{background:none;border:0;color:#fff;font-size:1.2rem;cursor:pointer}" +
    ".fw-chat ol{flex:1;overflow-y:auto;margin:0;padding:.6rem;list-style:none}" +
    ".fw-chat li{margin:.3rem 0;padding:.4rem .6rem;border-radius:.6rem;max-width:85%;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".fw-chat li.you{margin-left:auto;background:#dbe7ff}.fw-chat li.us{background:#f2f4f8}" +
    ".fw-chat form{display:flex;flex-direction:column;gap:.3rem;padding:.5rem;border-top:1px solid #e3e7ee}" +
    ".fw-chat input,.fw-chat textarea{font:inherit;padding:.4rem;border:1px solid #ccd3df;border-radius:.4rem}" +
    ".fw-chat .fw-row{display:flex;gap:.3rem}.fw-chat textarea{flex:1;resize:none}" +
    ".fw-chat form button{padding:.4rem .8rem;border:0;border-radius:.4rem;background:#1d4ed8;color:#fff;cursor:pointer}" +
    ".fw-chat .fw-offline{padding:.6rem;color:#b42318}" +
    ".fw-chat[hidden],.fw-chat-open[hidden],.fw-chat [hidden]{display:none!important}";
  document.head.appendChild(style);

  var opener = el("button", { type: "button", "class": "fw-chat-open" }, t.open);
  var panel = el("section", { "class": "fw-chat", role: "dialog", "aria-label": t.title, hidden: "" });
  var header = el("header");
  header.appendChild(el("span", {}, t.title));
  var closer = el("button", { type: "button", "aria-label": t.close }, "×");
  header.appendChild(closer);
  var list = el("ol", { "aria-live": "polite" });
  var form = el("form");
  var who = el("div", { "class": "fw-row" });
  var name = el("input", { type: "text", name: "name", placeholder: t.name, "aria-label": t.name, autocomplete: "name" });
  var email = el("input", { type: "email", name: "email", placeholder: t.email, "aria-label": t.email, autocomplete: "email" });
  who.appendChild(name); who.appendChild(email);
  var row = el("div", { "class": "fw-row" });
  var text = el("textarea", { name: "text", rows: "2", placeholder: t.placeholder, "aria-label": t.placeholder });
  var send = el("button", { type: "submit" }, t.send);
  var file = el("input", { type: "file", name: "file", "aria-label": t.attach, title: t.attach });
  row.appendChild(text); row.appendChild(send);
  var files = el("div", { "class": "fw-row" });
  files.appendChild(file);
  form.appendChild(who); form.appendChild(row); form.appendChild(files);
  panel.appendChild(header); panel.appendChild(list); panel.appendChild(form);
  document.body.appendChild(opener);
  document.body.appendChild(panel);

  function show(message) {
    if (seen[message.id]) return;
    seen[message.id] = true;
    last = Math.max(last, message.id);
    var item = el("li", { "class": message.from === "you" ? "you" : "us" }, message.text);
    item.setAttribute("aria-label", message.from === "you" ? t.you : t.us);
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }
  function offline() {
    if (panel.querySelector(".fw-offline")) return;
    var note = el("p", { "class": "fw-offline", role: "alert" }, t.offline);
    if (offlineEmail) { var a = el("a", { href: "mailto:" + offlineEmail }, offlineEmail); note.appendChild(a); }
    panel.insertBefore(note, form);
  }
  function listen() {
    if (source || !token || !window.EventSource) return;
    source = new EventSource(base + "/chat/sessions/" + encodeURIComponent(token) + "/stream?after=" + last);
    source.onmessage = function (e) { show(JSON.parse(e.data)); };
    source.onerror = function () { if (source.readyState === EventSource.CLOSED) { source = null; setTimeout(listen, 2000); } };
  }
  function post(path, body) {
    return fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (data) { if (!r.ok) throw data; return data; }); });
  }
  function session() {
    if (token) return Promise.resolve(token);
    return post("/chat/sessions", { name: name.value, email: email.value }).then(function (data) {
      token = data.token;
      try { localStorage.setItem(KEY, token); } catch (e) { /* private mode: the chat lasts this page */ }
      who.hidden = true;
      listen();
      return token;
    });
  }
  try { token = localStorage.getItem(KEY); } catch (e) { token = null; }
  if (token) { who.hidden = true; }

  opener.addEventListener("click", function () { panel.hidden = false; opener.hidden = true; listen(); text.focus(); });
  closer.addEventListener("click", function () { panel.hidden = true; opener.hidden = false; });
  text.addEventListener("keydown", function (e) { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
  function failed(error) {
    if (error && error.error && error.error.code === "chat_not_found") { token = null; who.hidden = false; try { localStorage.removeItem(KEY); } catch (x) { /* nothing kept */ } }
    else if (error && error.error) { var p = el("p", { "class": "fw-offline", role: "alert" }, error.error.message); panel.insertBefore(p, form); }
    else offline();
  }
  file.addEventListener("change", function () {
    if (!file.files.length) return;
    var body = new FormData();
    body.append("file", file.files[0]);
    session()
      .then(function (tok) {
        return fetch(base + "/chat/sessions/" + encodeURIComponent(tok) + "/files", { method: "POST", body: body })
          .then(function (r) { return r.json().then(function (data) { if (!r.ok) throw data; return data; }); });
      })
      .catch(failed)
      .then(function () { file.value = ""; });
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var words = text.value.trim();
    if (!words) return;
    send.disabled = true;
    session()
      .then(function (tok) { return post("/chat/sessions/" + encodeURIComponent(tok) + "/messages", { text: words }); })
      .then(function () { text.value = ""; })
      .catch(failed)
      .then(function () { send.disabled = false; });
  });
})();
