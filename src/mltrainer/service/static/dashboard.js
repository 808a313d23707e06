// mltrainer dashboard: draws each [data-figure] with plotly.js (served by this server) and
// refreshes every [data-fragment] and chart without reloading the page.
(function () {
  "use strict";
  var body = document.body;
  var every = Math.max(1, Number(body.dataset.refresh || 15)) * 1000;
  var busy = false;

  function fetchOk(url, accept) {
    return fetch(url, { headers: { Accept: accept }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) {
        return r.text().then(function (text) {
          var message = text;
          try { message = JSON.parse(text).error.message; } catch (e) { /* not JSON */ }
          throw new Error(r.status + ": " + message);
        });
      }
      return r;
    });
  }

  function draw(el) {
    return fetchOk(el.dataset.figure, "application/json").then(function (r) { return r.json(); })
      .then(function (fig) {
        var layout = Object.assign({ autosize: true }, fig.layout);
        return Plotly.react(el, fig.data, layout, { displaylogo: false, responsive: true })
          .then(function () { el.dataset.points = String(fig.points); el.removeAttribute("data-error"); });
      })
      .catch(function (err) { el.dataset.error = String(err.message); el.textContent = "chart unavailable: " + err.message; });
  }

  function reload(el) {
    return fetchOk(el.dataset.fragment, "text/html").then(function (r) { return r.text(); })
      .then(function (html) { el.innerHTML = html; el.removeAttribute("data-error"); })
      .catch(function (err) { el.dataset.error = String(err.message); });
  }

  function refresh() {
    if (busy) { return Promise.resolve(); }
    busy = true;
    var jobs = [];
    document.querySelectorAll("[data-fragment]").forEach(function (el) { jobs.push(reload(el)); });
    document.querySelectorAll("[data-figure]").forEach(function (el) { jobs.push(draw(el)); });
    return Promise.all(jobs).then(function () {
      busy = false;
      body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
      var stamp = document.getElementById("updated");
      if (stamp) { stamp.textContent = new Date().toLocaleTimeString(); }
    });
  }

  function start() {
    var select = document.getElementById("metric");
    if (select) {
      select.addEventListener("change", function () {
        var chart = document.getElementById(select.dataset.chart);
        chart.dataset.figure = chart.dataset.base + "?metric=" + encodeURIComponent(select.value);
        var url = new URL(window.location.href);
        url.searchParams.set("metric", select.value);
        window.history.replaceState(null, "", url.toString());
        draw(chart);
      });
    }
    var button = document.getElementById("refresh-now");
    if (button) { button.addEventListener("click", function () { refresh(); }); }
    refresh().then(function () { body.dataset.ready = "1"; });
    window.setInterval(refresh, every);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
