// The ticket workspace: Ctrl+Enter sends, a canned reply fills the answer, and every few seconds the page
// says its reader is here (and whether typing) and shows who else is.
(function () {
  "use strict";
  const form = document.getElementById("reply");
  if (!form) return;
  const text = form.querySelector("textarea[name=text]");
  const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let typedAt = 0;

  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      (form.querySelector("button[value=answer]") || form.querySelector("button[value=note]")).click();
    }
  });
  text.addEventListener("input", function () { typedAt = Date.now(); });

  const canned = document.getElementById("canned");
  if (canned) {
    canned.addEventListener("change", async function () {
      if (!canned.value) return;
      const url = canned.dataset.url.replace(/\/0\/$/, "/" + canned.value + "/");
      const answer = await fetch(url, { credentials: "same-origin" });
      if (answer.ok) {
        text.value = (await answer.json()).text;
        text.focus();
      }
      canned.value = "";
    });
  }

  const others = document.getElementById("others");
  async function here() {
    const body = new URLSearchParams({ typing: Date.now() - typedAt < 8000 ? "1" : "0" });
    try {
      const answer = await fetch(form.dataset.here, {
        method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": token },
      });
      if (!answer.ok) return;
      const people = (await answer.json()).others;
      others.hidden = people.length === 0;
      // "Taras (typing), Iryna: also in this ticket"
      others.textContent = people.map(function (p) {
        return p.name + (p.typing ? " (" + others.dataset.typing + ")" : "");
      }).join(", ") + ": " + others.dataset.label;
    } catch (_error) { /* offline for a moment: try again next time */ }
  }
  here();
  setInterval(here, 5000);
})();
