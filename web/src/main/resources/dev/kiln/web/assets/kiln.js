// Kiln's pages: server-rendered HTML; this only keeps a live run's graph and log current and draws
// charts.
(function () {
  "use strict";

  function liveDag() {
    var box = document.getElementById("dag");
    if (!box || box.dataset.live !== "true") return;
    var run = box.dataset.run;
    var badge = document.getElementById("run-status");
    var timer = setInterval(function () {
      fetch("/runs/" + run + "/status", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          box.querySelectorAll("g.node").forEach(function (g) {
            var st = s.steps[g.dataset.step] || "pending";
            g.setAttribute("class", "node st-" + st);
          });
          if (badge) { badge.textContent = s.run; badge.className = "badge st-" + s.run; }
          if (s.ended) {
            // Once: the steps table, timeline, metrics and artifacts are final now.
            clearInterval(timer);
            location.reload();
          }
        })
        .catch(function () {});
    }, 1000);
  }

  // A followed log: new lines arrive as server-sent events and are appended as text (never HTML)
  // until the server's "end" event says the task is settled. EventSource resumes by itself after
  // a dropped connection (Last-Event-ID).
  function follow() {
    document.querySelectorAll("div.follow[data-events]").forEach(function (el) {
      if (el.dataset.open) return;
      el.dataset.open = "true";
      var source = new EventSource(el.dataset.events);
      source.addEventListener("line", function (m) {
        var l = JSON.parse(m.data);
        var row = document.createElement("div");
        row.className = "line s-" + l.stream;
        var n = document.createElement("span");
        n.className = "n";
        n.textContent = l.attempt;
        row.appendChild(n);
        row.appendChild(document.createTextNode(l.line));
        el.parentNode.insertBefore(row, el);
        var empty = document.getElementById("log-empty");
        if (empty) empty.remove();
        var box = el.parentNode;
        box.scrollTop = box.scrollHeight;
      });
      source.addEventListener("end", function () {
        source.close();
        el.dataset.ended = "true";
        el.textContent = "the step has ended";
      });
      // A new search or filter replaces the log (and this element): stop the old stream.
      document.body.addEventListener("htmx:beforeSwap", function stop(ev) {
        if (ev.detail.target && ev.detail.target.contains(el)) {
          source.close();
          document.body.removeEventListener("htmx:beforeSwap", stop);
        }
      });
    });
  }

  // A chart's data is JSON in <script type="application/json" id="ID-data">: {x:[epoch s], series:[{label, values}]}.
  function charts() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll("div.chart[data-chart]").forEach(function (el) {
      var src = document.getElementById(el.dataset.chart);
      if (!src) return;
      var d = JSON.parse(src.textContent);
      if (!d.x.length) return;
      var colours = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f"];
      var series = [{}].concat(d.series.map(function (s, i) {
        return { label: s.label, stroke: colours[i % colours.length], width: 2, points: { show: true } };
      }));
      var data = [d.x].concat(d.series.map(function (s) { return s.values; }));
      var opts = { width: Math.min(900, el.clientWidth - 20), height: 240, series: series,
        scales: { x: { time: d.time !== false } } };
      if (d.time === false) {
        opts.axes = [{ values: function (u, vals) { return vals.map(function (v) { return "v" + v; }); } }, {}];
      }
      new uPlot(opts, data, el);
      el.dataset.drawn = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveDag();
    charts();
    follow();
    document.body.addEventListener("htmx:afterSettle", function () { follow(); });
  });
})();
