// Optional: shows maintenance windows in the reader's own time zone. The page is complete without it.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(lang, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
  } catch (e) { return; }
  document.querySelectorAll("[data-local-range]").forEach(function (dd) {
    var parts = dd.getAttribute("data-local-range").split("/");
    var start = new Date(parts[0]), end = new Date(parts[1]);
    if (isNaN(start) || isNaN(end)) { return; }
    dd.textContent = fmt.format(start) + " – " + fmt.format(end);
    dd.hidden = false;
    if (dd.previousElementSibling) { dd.previousElementSibling.hidden = false; }
  });
})();
