// The assessment dashboards' charts, drawn with the vendored ECharts (no CDN, no inline
// script: the CSP allows scripts from this site only). Each chart is a
// <div data-chart data-source="ID"> next to a <script type="application/json" id="ID">
// written by Django's json_script: {kind, horizontal, categories, series, axes, noData}.
// A value of null is "no data": a gap in the chart, never 0. When a chart is drawn its
// element gets data-chart-ready. Every figure is also in a table on the page.
(function () {
  "use strict";

  var PALETTE = ["#c8102e", "#1d4ed8", "#0f8a5f", "#d97706", "#6b21a8", "#475569"];

  function unitOf(axis) {
    return axis && axis.unit ? axis.unit : "";
  }

  function formatter(axes, noData) {
    return function (value) {
      if (value === null || value === undefined || value === "-" || Number.isNaN(value)) {
        return noData;
      }
      return value + unitOf(axes[0]);
    };
  }

  function valueAxis(axis, horizontal) {
    var out = {
      type: "value",
      name: axis.name || "",
      // Under a horizontal chart the name goes below the numbers, where it fits.
      nameLocation: horizontal ? "middle" : "end",
      nameGap: horizontal ? 26 : 12,
      nameTextStyle: { align: horizontal ? "center" : "left" },
      min: axis.min !== undefined ? axis.min : null,
      max: axis.max !== undefined ? axis.max : null,
      inverse: !!axis.inverse,
      minInterval: axis.integer ? 1 : 0,
      axisLabel: { hideOverlap: true },
      splitLine: { lineStyle: { color: "#e5e9f0" } }
    };
    if (axis.integer) {
      // Ranks: whole numbers only.
      out.axisLabel.formatter = function (v) { return Number.isInteger(v) ? String(v) : ""; };
    }
    return out;
  }

  function build(spec, width) {
    var horizontal = !!spec.horizontal;
    var narrow = width < 520;
    var axes = spec.axes && spec.axes.length ? spec.axes : [{ name: "" }];
    var categoryAxis = {
      type: "category",
      data: spec.categories,
      inverse: horizontal, // the first category on top
      axisTick: { alignWithLabel: true },
      axisLabel: horizontal
        ? { width: narrow ? 84 : 160, overflow: "truncate" }
        : { interval: 0, rotate: spec.categories.length > 6 || narrow ? 40 : 0, hideOverlap: true }
    };
    var values = axes.map(function (a) { return valueAxis(a, horizontal); });
    var series = spec.series.map(function (s) {
      var type = s.type || spec.kind || "bar";
      return {
        name: s.name,
        type: type,
        data: s.data.map(function (v) { return v === null ? "-" : v; }),
        connectNulls: false,
        smooth: false,
        symbolSize: 6,
        barMaxWidth: 28,
        yAxisIndex: horizontal ? 0 : (s.axis || 0),
        xAxisIndex: horizontal ? (s.axis || 0) : 0,
        emphasis: { focus: "series" }
      };
    });
    var option = {
      color: PALETTE,
      animationDuration: 300,
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      tooltip: {
        trigger: "axis",
        confine: true,
        valueFormatter: formatter(axes, spec.noData)
      },
      legend: { type: "scroll", top: 0, left: "center", itemWidth: 14 },
      grid: {
        left: 8,
        right: narrow ? 12 : 24,
        // Room for the legend, and under it the name of a vertical value axis.
        top: horizontal ? 36 : 60,
        bottom: horizontal ? 30 : 8,
        containLabel: true
      },
      series: series
    };
    if (horizontal) {
      option.yAxis = categoryAxis;
      option.xAxis = values;
    } else {
      option.xAxis = categoryAxis;
      option.yAxis = values;
    }
    if (!spec.categories.length) {
      option.graphic = {
        type: "text",
        left: "center",
        top: "middle",
        style: { text: spec.noData, fill: "#5f6b7a", fontSize: 14 }
      };
    }
    return option;
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    if (spec.horizontal) {
      // Room for every bar: long Chinese names read better one per line.
      var rows = Math.max(spec.categories.length, 1) * Math.max(spec.series.length, 1);
      el.style.height = Math.max(240, Math.min(1600, 70 + rows * 14 + spec.categories.length * 10)) + "px";
    }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.on("finished", function () {
      el.setAttribute("data-chart-ready", "1");
    });
    chart.setOption(build(spec, el.clientWidth));
    var last = el.clientWidth;
    var resize = function () {
      if (el.clientWidth === last) return;
      last = el.clientWidth;
      chart.setOption(build(spec, last), true);
      chart.resize();
    };
    if (window.ResizeObserver) {
      new ResizeObserver(resize).observe(el);
    } else {
      window.addEventListener("resize", resize);
    }
  }

  // The period picker: show only the fields of the kind of period chosen.
  function picker(form) {
    var kind = form.querySelector("select[name=kind]");
    if (!kind) return;
    var sync = function () {
      form.querySelectorAll("[data-for-kind]").forEach(function (field) {
        field.hidden = field.getAttribute("data-for-kind") !== kind.value;
      });
    };
    kind.addEventListener("change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-period-picker]").forEach(picker);
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
