// The ticket workspace: Ctrl+Enter sends, a canned reply fills the answer, the answer's length is counted
// as it is typed (SMS parts on SMS, as core/lengths.py counts them), and every few seconds the page says
// its reader is here (and whether typing) and shows who else is.
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

  const meter = document.getElementById("length");
  if (meter) {
    const rules = meter.dataset;
    const gsm7 = new Set(rules.gsm7);
    const extended = new Set(rules.gsm7Extended);
    const answerButton = form.querySelector("button[value=answer]");
    const noteButton = form.querySelector("button[value=note]");
    const fill = function (template, values) {
      return template.replace(/\{(\w+)\}/g, function (whole, name) {
        return name in values ? String(values[name]) : whole;
      });
    };
    // An SMS: GSM-7 when every character is in its alphabet (the extended ones take two), UCS-2 otherwise;
    // one part holds 160 or 70, a part of a longer one 153 or 67. JavaScript strings count UTF-16 units.
    const sms = function (words) {
      let latin = true;
      let septets = 0;
      for (const c of words) {
        if (gsm7.has(c)) { septets += 1; } else if (extended.has(c)) { septets += 2; } else { latin = false; break; }
      }
      const length = latin ? septets : words.length;
      const single = latin ? 160 : 70;
      const perPart = latin ? 153 : 67;
      const parts = length <= single ? 1 : Math.ceil(length / perPart);
      return {
        length: length, parts: parts, per: parts === 1 ? single : perPart, latin: latin,
        tooLong: length > perPart * Number(rules.smsMaxParts),
      };
    };
    const count = meter.querySelector(".count");
    const warning = meter.querySelector(".warning");
    const measure = function () {
      const words = text.value.replace(/\r\n/g, "\n").trim();
      const noteLimit = Number(rules.noteLimit);
      const noteTooLong = words.length > noteLimit;
      let tooLong = noteTooLong;
      if (rules.answer && rules.sms) {
        const found = sms(words);
        tooLong = found.tooLong;
        count.textContent = fill(rules.smsCount, {
          n: words.length, parts: found.parts, max: rules.smsMaxParts, per: found.per,
          alphabet: found.latin ? rules.latin : rules.other,
        });
      } else if (rules.answer) {
        tooLong = words.length > Number(rules.limit);
        count.textContent = fill(rules.count, { n: words.length, limit: rules.limit });
      } else {
        count.textContent = fill(rules.noteCount, { n: words.length, limit: noteLimit });
      }
      meter.classList.toggle("over", tooLong || noteTooLong);
      warning.textContent = noteTooLong ? rules.noteTooLong : (tooLong && rules.answer ? rules.tooLong : "");
      if (answerButton) answerButton.disabled = tooLong;
      if (noteButton) noteButton.disabled = noteTooLong;
    };
    text.addEventListener("input", measure);
    measure();
  }

  const canned = document.getElementById("canned");
  if (canned) {
    canned.addEventListener("change", async function () {
      if (!canned.value) return;
      const url = canned.dataset.url.replace(/\/0\/$/, "/" + canned.value + "/");
      const answer = await fetch(url, { credentials: "same-origin" });
      if (answer.ok) {
        text.value = (await answer.json()).text;
        text.dispatchEvent(new Event("input"));
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
