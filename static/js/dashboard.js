// Draws the dashboard's charts from the JSON the page embeds (json_script); every chart
// also has a table on the page, so nothing here is the only way to read a figure.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const rtl = document.documentElement.dir === "rtl";
  // The page's formatter (core.formatting.chart_format) says the language, the member's digits
  // and where each currency's symbol goes, so a chart writes values as the tables beside it do.
  const fmt = data.format;
  const numberingSystem = fmt.digits;
  const countFormat = new Intl.NumberFormat(fmt.locale, { numberingSystem, maximumFractionDigits: 0 });
  const numberFormat = new Intl.NumberFormat(fmt.locale, { numberingSystem, maximumFractionDigits: 2 });
  const money = (currency) => {
    const shape = fmt.money[currency] || { prefix: currency + " ", suffix: "", places: 2 };
    const digits = new Intl.NumberFormat(fmt.locale, {
      numberingSystem,
      minimumFractionDigits: shape.places,
      maximumFractionDigits: shape.places,
    });
    return { format: (value) => shape.prefix + digits.format(value) + shape.suffix };
  };
  const palette = ["#1b6e53", "#b5651d", "#2f5d8a", "#8a2f5d", "#5d8a2f", "#6b6b6b"];

  // Counts step by whole numbers: no axis shows 0.1 of a deal.
  function base(format, { counts = false } = {}) {
    const tickFormat = counts ? countFormat : numberFormat;
    return {
      responsive: true,
      locale: fmt.locale,
      plugins: {
        legend: { rtl, textDirection: rtl ? "rtl" : "ltr" },
        tooltip: {
          rtl,
          textDirection: rtl ? "rtl" : "ltr",
          callbacks: {
            label: (ctx) => `${ctx.dataset.label}: ${format(ctx.raw, ctx.dataset)}`,
          },
        },
      },
      scales: {
        x: { reverse: rtl },
        y: {
          beginAtZero: true,
          position: rtl ? "right" : "left",
          ticks: { precision: counts ? 0 : undefined, callback: (v) => tickFormat.format(v) },
        },
      },
    };
  }

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new window.Chart(canvas, config);
  }

  const trend = data.trend;
  if (trend && trend.series.length) {
    const datasets = [];
    trend.series.forEach((series, index) => {
      const color = palette[index % palette.length];
      datasets.push({
        type: "bar",
        label: `${trend.won_label} (${series.currency})`,
        currency: series.currency,
        data: series.won.map(Number),
        backgroundColor: color,
      });
      datasets.push({
        type: "line",
        label: `${trend.target_label} (${series.currency})`,
        currency: series.currency,
        data: series.target.map(Number),
        borderColor: color,
        borderDash: [6, 4],
        fill: false,
      });
    });
    draw("chart-trend", {
      data: { labels: trend.labels, datasets },
      options: base((value, dataset) => money(dataset.currency).format(value)),
    });
  }

  const funnel = data.funnel;
  if (funnel && funnel.labels.length) {
    draw("chart-funnel", {
      type: "bar",
      data: { labels: funnel.labels, datasets: [{ label: funnel.label, data: funnel.entries, backgroundColor: palette[0] }] },
      options: base((value) => countFormat.format(value), { counts: true }),
    });
  }

  const forecast = data.forecast;
  if (forecast && forecast.rows.length) {
    const labels = forecast.rows.map((row) => `${row.month} · ${row.currency}`);
    const datasets = [
      { type: "bar", label: forecast.commit_label, data: forecast.rows.map((r) => Number(r.commit)), backgroundColor: palette[0] },
      { type: "bar", label: forecast.best_label, data: forecast.rows.map((r) => Number(r.best_case)), backgroundColor: palette[1] },
      {
        type: "line",
        label: forecast.target_label,
        data: forecast.rows.map((r) => (r.target === null ? null : Number(r.target))),
        borderColor: palette[2],
        borderDash: [6, 4],
      },
    ];
    // Each bar is in its own row's currency, so the tooltip names that currency.
    const options = base((value) => numberFormat.format(value));
    options.plugins.tooltip.callbacks.label = (ctx) =>
      `${ctx.dataset.label}: ${money(forecast.rows[ctx.dataIndex].currency).format(ctx.raw)}`;
    draw("chart-forecast", { data: { labels, datasets }, options });
  }

  const activities = data.activities;
  if (activities && activities.labels.length) {
    draw("chart-activities", {
      type: "bar",
      data: {
        labels: activities.labels,
        datasets: activities.datasets.map((set, index) => ({ ...set, backgroundColor: palette[index % palette.length] })),
      },
      options: base((value) => countFormat.format(value), { counts: true }),
    });
  }
})();

// A definition shown on focus must be dismissible without moving the pointer (WCAG 1.4.13).
document.addEventListener("keydown", (event) => {
  const label = document.activeElement;
  if (event.key === "Escape" && label && label.classList && label.classList.contains("kpi__label")) {
    label.classList.add("kpi__label--dismissed");
  }
});
document.addEventListener("focusin", (event) => {
  document.querySelectorAll(".kpi__label--dismissed").forEach((label) => {
    if (label !== event.target) label.classList.remove("kpi__label--dismissed");
  });
});
