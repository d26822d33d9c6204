// Optional: the page is complete without it. With it, the reader sees:
// - times in their own zone and their own locale's format (Intl with the browser's locale, when it speaks the
//   page's language; otherwise the page's own locale, e.g. fr-CA), for maintenance and incidents alike;
// - the page's age, and a warning once the page is older than three render intervals;
// - the latest status without reloading: status.json is polled every 30 s, and when the site was rendered
//   again the page's main content is fetched and swapped in place.
(function () {
  "use strict";
  var root = document.documentElement;
  var pageLang = root.lang || "en";
  var locale = pageLang;
  // The reader's locale: the first of their preferred languages that speaks the page's language, else the
  // browser's own (Intl's default), else the page's. An en-GB reader gets en-GB dates on the English page.
  var base = pageLang.split("-")[0].toLowerCase();
  var wanted = (navigator.languages || [navigator.language]).concat([Intl.DateTimeFormat().resolvedOptions().locale]);
  for (var i = 0; i < wanted.length; i++) {
    if (wanted[i] && wanted[i].split("-")[0].toLowerCase() === base) { locale = wanted[i]; break; }
  }
  var fmt, rel;
  try {
    fmt = new Intl.DateTimeFormat(locale, {
      year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short"
    });
    rel = new Intl.RelativeTimeFormat(pageLang, { numeric: "auto" });
  } catch (e) { return; }

  function ago(ms) {
    var s = Math.round(ms / 1000);
    if (s < 60) { return rel.format(-s, "second"); }
    if (s < 3600) { return rel.format(-Math.floor(s / 60), "minute"); }
    if (s < 86400) { return rel.format(-Math.floor(s / 3600), "hour"); }
    return rel.format(-Math.floor(s / 86400), "day");
  }

  function localise(scope) {
    scope.querySelectorAll("time[data-local]").forEach(function (t) {
      var at = new Date(t.getAttribute("datetime"));
      if (isNaN(at)) { return; }
      if (!t.title) { t.title = t.textContent; }  // the page's zone stays one hover away
      t.textContent = fmt.format(at);
    });
    scope.querySelectorAll("[data-local-range]").forEach(function (dd) {
      var parts = dd.getAttribute("data-local-range").split("/");
      var start = new Date(parts[0]), end = new Date(parts[1]);
      if (isNaN(start) || isNaN(end)) { return; }
      dd.textContent = fmt.formatRange ? fmt.formatRange(start, end) : fmt.format(start) + " – " + fmt.format(end);
      dd.hidden = false;
      if (dd.previousElementSibling) { dd.previousElementSibling.hidden = false; }
    });
  }

  function freshness() {
    var now = Date.now();
    document.querySelectorAll("time[data-age]").forEach(function (t) {
      var at = new Date(t.getAttribute("datetime"));
      var out = t.nextElementSibling;
      if (isNaN(at) || !out) { return; }
      out.textContent = "(" + ago(Math.max(0, now - at)) + ")";
      out.hidden = false;
    });
    document.querySelectorAll("[data-stale-after]").forEach(function (p) {
      var after = new Date(p.getAttribute("data-stale-after"));
      p.hidden = isNaN(after) || now <= after;
    });
  }

  function refresh(live) {
    var url = live.getAttribute("data-status");
    fetch(url, { cache: "no-store" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (doc) {
      if (!doc || !doc.page || doc.page.updated_at === live.getAttribute("data-generated")) { return null; }
      return fetch(location.href, { cache: "no-store" }).then(function (r) { return r.ok ? r.text() : null; });
    }).then(function (html) {
      if (!html) { return; }
      var next = new DOMParser().parseFromString(html, "text/html").getElementById("live");
      if (!next) { return; }
      var open = {};
      live.querySelectorAll(".group[id]").forEach(function (g) {
        var d = g.querySelector("details");
        if (d) { open[g.id] = d.open; }
      });
      live.innerHTML = next.innerHTML;
      live.setAttribute("data-generated", next.getAttribute("data-generated"));
      live.querySelectorAll(".group[id]").forEach(function (g) {  // keep what the reader opened or closed
        var d = g.querySelector("details");
        if (d && g.id in open) { d.open = open[g.id]; }
      });
      localise(live);
      freshness();
      var say = live.querySelector("[data-refreshed]");
      if (say) { say.textContent = say.getAttribute("data-refreshed"); }
    }).catch(function () { /* offline or blocked: the stale warning tells the reader */ });
  }

  localise(document);
  freshness();
  setInterval(freshness, 15000);
  var live = document.getElementById("live");
  var every = live ? parseInt(live.getAttribute("data-refresh"), 10) : 0;
  if (live && every > 0 && window.fetch && window.DOMParser) {
    setInterval(function () { refresh(live); }, every * 1000);
  }
})();
