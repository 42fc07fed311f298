// The console's progressive touches; every page works without them.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // Joint meetings: the time left before the solution is due, every second.
  function tick() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000);
      var sign = left < 0 ? "-" : "";
      left = Math.abs(left);
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      el.textContent = sign + h + " " + el.dataset.h + " " + pad(m) + " " + el.dataset.min + " " + pad(s) + " " + el.dataset.s;
    });
  }
  // Bars are sized here: the content security policy allows no inline styles.
  function bars() {
    document.querySelectorAll("[data-width]").forEach(function (el) { el.style.width = el.dataset.width + "%"; });
    document.querySelectorAll("[data-left]").forEach(function (el) { el.style.left = el.dataset.left + "%"; });
  }
  // An invitation link carries its code in the fragment (never sent to the server, never logged).
  function invitation() {
    var field = document.getElementById("token");
    if (field && window.location.hash.length > 1) {
      field.value = decodeURIComponent(window.location.hash.slice(1));
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }
  // The board's chart, drawn by ECharts (served by us) where the page loaded it; the table beside
  // it holds the same numbers for anyone who cannot see it.
  var colours = ["#8a4b00", "#a4161a", "#4a5560"];
  function charts() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var data = JSON.parse(el.dataset.chart);
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
      chart.setOption({
        animation: false, color: colours, legend: { top: 0 },
        grid: { left: 40, right: 10, top: 40, bottom: 30, containLabel: true },
        xAxis: { type: "category", data: data.x || data.teams }, yAxis: { type: "value", minInterval: 1 },
        // A series may be a line (staffing: days, with gaps where a series has no value).
        series: data.series.map(function (s) {
          return { name: s.name, type: s.type || "bar", data: s.data, connectNulls: false, showSymbol: false };
        })
      }, true);
    });
  }
  document.addEventListener("htmx:afterSwap", charts);
  // The SLA board's rows, pushed by the server (server-sent events) as each update is made; the
  // browser reopens a stream that ends. A stream refused for good (signed out, too many open
  // boards) reloads the page after the refresh interval: it shows the sign-in page or a new board.
  function live() {
    var board = document.querySelector("[data-live]");
    if (!board || !window.EventSource) { return; }
    var source = new EventSource(board.dataset.live);
    source.onmessage = function (e) {
      board.querySelectorAll("[data-chart]").forEach(function (el) {
        if (window.echarts) { window.echarts.dispose(el); }
      });
      board.innerHTML = e.data;
      charts();
      bars();
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(function () { window.location.reload(); }, 1000 * Number(board.dataset.refresh || 10));
      }
    };
  }
  window.addEventListener("resize", function () {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  });
  document.addEventListener("DOMContentLoaded", function () {
    charts();
    live();
    invitation();
    bars();
    tick();
    if (document.querySelector("time[data-countdown]")) { setInterval(tick, 1000); }
  });
})();
