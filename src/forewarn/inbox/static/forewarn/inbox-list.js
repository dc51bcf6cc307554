// The inbox list's bulk actions: "select all on this page" ticks every row's box (the rows reload every
// second, so the choice is made again on the new rows), and the count of chosen tickets is kept.
(function () {
  "use strict";
  const form = document.getElementById("bulk");
  if (!form) return;
  const results = document.getElementById("results");
  const count = form.querySelector(".chosen");
  const boxes = function () { return results.querySelectorAll("input[name=ticket]"); };
  const show = function () {
    const chosen = results.querySelectorAll("input[name=ticket]:checked").length;
    count.textContent = count.dataset.label.replace("{n}", String(chosen));
    const all = results.querySelector("input.select-all");
    if (all) {
      all.checked = chosen > 0 && chosen === boxes().length;
      all.indeterminate = chosen > 0 && chosen < boxes().length;
    }
  };
  results.addEventListener("change", function (event) {
    if (event.target.classList.contains("select-all")) {
      boxes().forEach(function (box) { box.checked = event.target.checked; });
    }
    show();
  });
  document.body.addEventListener("htmx:afterSwap", show);
  show();
})();
