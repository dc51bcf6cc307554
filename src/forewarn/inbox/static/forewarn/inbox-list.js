// The inbox list's bulk actions: "select all on this page" ticks every row's box, the count of chosen
// tickets is kept, and while some are chosen the rows, which reload every second, stay as they are (a
// reload already on its way when a box was ticked is not put in their place).
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
  results.addEventListener("htmx:beforeSwap", function (event) {
    if (results.querySelector("input[name=ticket]:checked")) event.detail.shouldSwap = false;
  });
  document.body.addEventListener("htmx:afterSwap", show);
  show();
})();
