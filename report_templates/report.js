(function () {
  "use strict";
  var table = document.getElementById("findings");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var severity = document.getElementById("f-severity");
  var check = document.getElementById("f-check");
  var state = document.getElementById("f-state");
  var text = document.getElementById("f-text");
  var count = document.getElementById("f-count");

  function filter() {
    var query = text.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var visible = (!severity.value || row.dataset.severity === severity.value) &&
        (!check.value || row.dataset.check === check.value) &&
        (!state.value || row.dataset.state === state.value) &&
        (!query || row.textContent.toLowerCase().indexOf(query) !== -1);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " findings shown";
  }

  function sortBy(header) {
    var key = header.dataset.sort;
    var current = header.getAttribute("aria-sort");
    var descending = current ? current === "ascending" : key === "rank";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var numeric = key === "rank";
    rows.sort(function (a, b) {
      var x = a.dataset[key], y = b.dataset[key], order;
      if (numeric) { order = Number(x) - Number(y); } else { order = x.localeCompare(y); }
      if (order === 0) { order = Number(a.dataset.order) - Number(b.dataset.order); return order; }
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  [severity, check, state].forEach(function (el) { el.addEventListener("change", filter); });
  text.addEventListener("input", filter);
  document.getElementById("filters").addEventListener("submit", function (event) { event.preventDefault(); });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
    var button = header.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(header); }); }
  });
  filter();
}());
