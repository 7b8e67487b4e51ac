// Asset page: measured vs estimated signals, forecast band and CQA table, alarms with
// acknowledgement, recommended actions and the what-if panel; live updates over SSE.
import { api, el, may, num, pct, requireUser, riskClass, showError, when } from "./common.js";
import { setUpSetpoints } from "./setpoint.js";

const ASSET = decodeURIComponent(location.pathname.split("/")[2] || "");
const ENC = encodeURIComponent(ASSET);
const EVERY_S = 600; // 10-minute bins keep a 14-day one-minute batch responsive
const LIVE_MAX_POINTS = 20000; // per chart, of live samples appended after the bins
const FLUSH_MS = 2000;
const CONFIG = { responsive: true, displaylogo: false };
const MARGIN = { l: 50, r: 15, t: 30, b: 35 };

const page = { user: null, detail: null, actions: [], measured: new Map(), buffer: new Map() };

/** A DOM id fragment from a tag or state name (`BR01.AT201.PV` -> `BR01-AT201-PV`). */
function slug(name) {
  return name.replace(/[^A-Za-z0-9_-]/g, "-");
}

function chartDiv(kind, name) {
  return el("div", { class: "chart", id: `chart-${kind}-${slug(name)}`, dataset: { testid: `chart-${kind}`, name } });
}

function plot(div, traces, layout) {
  window.Plotly.react(div, traces, { margin: MARGIN, showlegend: false, ...layout }, CONFIG);
}

/** Traces of a 5-95 % band and its middle line. */
function band(x, low, high, mid, name, color) {
  return [
    { x, y: high, mode: "lines", line: { width: 0 }, hoverinfo: "skip", name: `${name} p95` },
    { x, y: low, mode: "lines", line: { width: 0 }, fill: "tonexty", fillcolor: `${color}33`, name: `${name} 5–95 %` },
    { x, y: mid, mode: "lines", line: { color }, name },
  ];
}

// ---- asset header -------------------------------------------------------------------------

async function loadDetail() {
  const d = await api(`/api/assets/${ENC}`);
  page.detail = d;
  document.title = `pharmatwin · ${d.name}`;
  document.getElementById("asset-name").textContent = `${d.name} — ${d.description}`;
  document.getElementById("asset-status").textContent =
    `${d.batch_state || "idle"} · batch ${d.batch_id || "–"} at ${num(d.batch_h, 1)} h ` +
    `(${d.phase || "–"}) · ` +
    `twin at ${num(d.twin_h, 1)} h${d.live ? " (live)" : ""} · ${d.active_alarms} active alarm(s)`;
  return d;
}

// ---- signals ------------------------------------------------------------------------------

async function loadSignals() {
  const batches = await api(`/api/batches?asset=${ENC}`);
  const batch = batches.find((b) => b.batch_id === page.detail.batch_id) || batches[batches.length - 1];
  const query = batch ? `?start=${encodeURIComponent(batch.start)}&every=${EVERY_S}` : "";
  const s = await api(`/api/assets/${ENC}/signals${query}`);
  const measured = document.getElementById("measured-charts");
  measured.replaceChildren();
  page.measured.clear();
  for (const series of s.measured) {
    const div = chartDiv("measured", series.tag);
    measured.append(div);
    page.measured.set(series.tag, div);
    drawMeasured(div, series, s);
  }
  if (!s.measured.length) measured.append(el("p", { class: "muted" }, "No measured samples."));
  page.signalsQuery = query;
  renderEstimated(s.estimated);
}

/** Redraw the twin's estimated states (after each new forecast: the beliefs have moved on). */
async function refreshEstimated() {
  if (page.signalsQuery === undefined) return;
  const s = await api(`/api/assets/${ENC}/signals${page.signalsQuery}`);
  for (const series of s.measured) {
    const div = page.measured.get(series.tag);
    if (div) window.Plotly.deleteTraces(div, estimateTraceIndexes(div));
    if (div) window.Plotly.addTraces(div, estimateTraces(series.tag, s));
  }
  renderEstimated(s.estimated);
}

/** The twin's estimate of what `tag` reads (5–95 % band and mean), or no traces. */
function estimateTraces(tag, s) {
  const output = s.estimates[tag];
  const b = output && s.estimated.outputs[output];
  if (!b) return [];
  return band(s.estimated.times, b.p05, b.p95, b.mean, `twin ${output}`, "#b35900")
    .map((t) => ({ ...t, meta: "estimate" }));
}

function estimateTraceIndexes(div) {
  return div.data.map((t, i) => (t.meta === "estimate" ? i : -1)).filter((i) => i >= 0);
}

/** A measured tag's chart: binned means, live samples (trace 1), and the twin's estimate. */
function drawMeasured(div, series, s) {
  const label = series.every_s ? `${series.every_s / 60}-min mean` : "samples";
  const output = s.estimates[series.tag];
  const estimated = output && s.estimated.outputs[output] ? " vs twin estimate" : "";
  // Laboratory results fill few bins: show them as points, not invisible one-bin lines.
  const sparse = series.values.filter((v) => v !== null).length * 4 < series.values.length;
  const mode = sparse ? "markers" : "lines";
  plot(div, [
    { x: series.times, y: series.values, mode, name: label, line: { color: "#1f5fbf" }, marker: { size: 5 } },
    { x: [], y: [], mode, name: "live", line: { color: "#0a8f5a" }, marker: { size: 5 } },
    ...estimateTraces(series.tag, s),
  ], { title: { text: `${series.tag} (${series.unit})${estimated}`, font: { size: 13 } } });
  div.dataset.estimate = output || "";
}

function renderEstimated(e) {
  const estimated = document.getElementById("estimated-charts");
  estimated.replaceChildren();
  for (const [state, b] of Object.entries(e.states)) {
    const div = chartDiv("estimated", state);
    estimated.append(div);
    plot(div, band(e.times, b.p05, b.p95, b.mean, state, "#b35900"),
      { title: { text: `${state} (twin estimate)`, font: { size: 13 } } });
  }
  if (!Object.keys(e.states).length) estimated.append(el("p", { class: "muted" }, "No twin estimates stored."));
}

/** Append buffered live samples to their charts (one redraw per chart per flush). */
function flushSamples() {
  for (const [tag, points] of page.buffer) {
    const div = page.measured.get(tag);
    if (div && points.x.length) window.Plotly.extendTraces(div, { x: [points.x], y: [points.y] }, [1], LIVE_MAX_POINTS);
  }
  page.buffer.clear();
}

function onSample(event) {
  const s = JSON.parse(event.data);
  if (!page.measured.has(s.tag) || s.value === null) return;
  const points = page.buffer.get(s.tag) || { x: [], y: [] };
  points.x.push(s.time);
  points.y.push(s.value);
  page.buffer.set(s.tag, points);
}

// ---- forecast -----------------------------------------------------------------------------

function limits(spec) {
  const parts = [];
  if (spec.lower !== null) parts.push(`≥ ${spec.lower}`);
  if (spec.upper !== null) parts.push(`≤ ${spec.upper}`);
  return `${parts.join(" and ") || "none"} ${spec.unit} (${spec.when})`;
}

function cqaRow(spec, q) {
  const cell = (v) => el("td", { class: "num" }, q ? num(v, 3) : "–");
  return el("tr", { dataset: { testid: "cqa-row", spec: spec.name } },
    el("td", {}, spec.name), el("td", {}, limits(spec)),
    cell(q && q.p05), cell(q && q.p50), cell(q && q.p95),
    el("td", { class: `num ${riskClass(q ? q.p_fail : null)}`, dataset: { testid: "cqa-p-fail" } }, pct(q ? q.p_fail : null)));
}

function forecastChart(spec, fb) {
  const out = fb.outputs[spec.output];
  const div = chartDiv("forecast", spec.output);
  document.getElementById("forecast-charts").append(div);
  const shapes = [{ type: "line", xref: "x", yref: "paper", x0: fb.t_h, x1: fb.t_h, y0: 0, y1: 1, line: { color: "#667085", dash: "dot" } }];
  for (const limit of [spec.lower, spec.upper]) {
    if (limit !== null) shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: limit, y1: limit, line: { color: "#c62828", dash: "dash" } });
  }
  plot(div, band(fb.times_h, out.p05, out.p95, out.p50, spec.output, "#1f5fbf"), {
    title: { text: `${spec.output} to harvest (${spec.unit})`, font: { size: 13 } },
    xaxis: { title: { text: "batch h" } },
    shapes,
  });
}

function recommendationRow(r) {
  const name = typeof r.action === "string" ? r.action : r.action.name;
  return el("tr", { dataset: { testid: "recommendation-row", action: name } },
    el("td", {}, name),
    el("td", { class: "num" }, pct(r.p_ok_before)), el("td", { class: "num" }, pct(r.p_ok_after)),
    el("td", { class: "num" }, num(r.expected_titre_before, 3)), el("td", { class: "num" }, num(r.expected_titre_after, 3)),
    el("td", {}, el("button", { type: "button", dataset: { testid: "recommendation-use" }, onclick: () => chooseAction(name) }, "Open in what-if")));
}

async function loadForecast() {
  const f = await api(`/api/assets/${ENC}/forecast`);
  const doc = f.document || {};
  const cqa = doc.cqa || {};
  document.getElementById("forecast-time").textContent = f.time
    ? `Latest forecast at batch hour ${num(f.batch_h, 1)} (${when(f.time)}).`
    : "No forecast stored yet.";
  document.querySelector("#cqa-table tbody").replaceChildren(...f.specifications.map((s) => cqaRow(s, cqa[s.name])));
  const charts = document.getElementById("forecast-charts");
  charts.replaceChildren();
  if (f.band) {
    for (const spec of f.specifications) if (f.band.outputs[spec.output]) forecastChart(spec, f.band);
  } else {
    charts.append(el("p", { class: "muted" }, "No forecast band: the twin does not run in this service."));
  }
  const ranked = (doc.recommendations && doc.recommendations.ranked) || [];
  document.querySelector("#recommendations tbody").replaceChildren(...(ranked.length
    ? ranked.map(recommendationRow)
    : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No recommendations in the latest forecast."))]));
}

// ---- alarms -------------------------------------------------------------------------------

function ackCell(alarm) {
  const done = alarm.acknowledgements.map((a) =>
    el("div", { dataset: { testid: "ack-done" } }, `${a.by} · ${when(a.time)}: ${a.comment}`));
  if (alarm.acknowledged || !may(page.user.role, "acknowledge_alarm")) {
    return el("td", { class: "ack" }, done.length ? done : "not acknowledged");
  }
  const comment = el("textarea", { maxlength: 500, placeholder: "comment (required)", dataset: { testid: "ack-comment", alarmId: alarm.id } });
  const message = el("div", { class: "error", hidden: true, dataset: { testid: "ack-error" } });
  const button = el("button", { type: "button", dataset: { testid: "ack-button", alarmId: alarm.id } }, "Acknowledge");
  button.addEventListener("click", async () => {
    message.hidden = true;
    button.disabled = true;
    try {
      await api(`/api/alarms/${encodeURIComponent(alarm.id)}/acknowledge`, { method: "POST", body: { comment: comment.value.trim() } });
      await loadAlarms();
    } catch (error) {
      message.textContent = error.message;
      message.hidden = false;
      button.disabled = false;
    }
  });
  return el("td", { class: "ack" }, done, comment, button, message);
}

function alarmRow(a) {
  const h = (v) => (v === null ? "–" : `${num(v, 1)} h`);
  return el("tr", { class: a.active ? "active" : "", dataset: { testid: "alarm-row", alarmId: a.id } },
    el("td", {}, when(a.time), el("br"), el("span", { class: "muted" }, h(a.raised_at_h))),
    el("td", {}, a.subject, el("br"), el("span", { class: "muted" }, a.kind)),
    el("td", {}, a.message),
    el("td", { class: "num" }, pct(a.probability)),
    el("td", { class: "num" }, h(a.predicted_violation_h)),
    el("td", { class: "num", dataset: { testid: "lead-time" } }, h(a.lead_time_h)),
    el("td", {}, a.active ? "active" : `cleared ${h(a.cleared_at_h)}`),
    ackCell(a));
}

function alarmTimeline(alarms) {
  const div = document.getElementById("chart-alarms");
  const timed = alarms.filter((a) => a.raised_at_h !== null);
  if (!timed.length) {
    div.hidden = true;
    return;
  }
  div.hidden = false;
  const traces = timed.map((a) => ({
    x: a.predicted_violation_h === null ? [a.raised_at_h] : [a.raised_at_h, a.predicted_violation_h],
    y: a.predicted_violation_h === null ? [a.subject] : [a.subject, a.subject],
    mode: "lines+markers",
    line: { color: a.active ? "#c62828" : "#667085", width: 4 },
    text: [`raised: ${a.message}`, `predicted violation (lead ${num(a.lead_time_h, 1)} h)`],
    hoverinfo: "text+x",
    name: a.subject,
  }));
  plot(div, traces, { title: { text: "Alarms: raised → predicted violation (batch h)", font: { size: 13 } }, xaxis: { title: { text: "batch h" } } });
}

async function loadAlarms() {
  const alarms = await api(`/api/alarms?asset=${ENC}`);
  alarms.sort((a, b) => (a.time < b.time ? 1 : -1));
  document.querySelector("#alarms tbody").replaceChildren(...(alarms.length
    ? alarms.map(alarmRow)
    : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No alarms."))]));
  alarmTimeline(alarms);
}

// ---- what-if ------------------------------------------------------------------------------

const FIELDS = { name: "whatif-name", kind: "whatif-kind", medium: "whatif-medium", volume_L: "whatif-volume", input: "whatif-input", value: "whatif-value" };

function fillAction(action) {
  for (const [key, id] of Object.entries(FIELDS)) {
    const v = action[key];
    document.getElementById(id).value = v === null || v === undefined ? "" : String(v);
  }
  document.getElementById("whatif-description").textContent = action.description || "";
}

function chooseAction(name) {
  const i = page.actions.findIndex((a) => a.name === name);
  if (i < 0) return;
  document.getElementById("whatif-action").value = String(i);
  fillAction(page.actions[i]);
  document.getElementById("whatif").scrollIntoView({ behavior: "smooth" });
}

/** The action as edited in the form (empty fields are left out). */
function readAction() {
  const text = (id) => document.getElementById(id).value.trim() || null;
  const number = (id) => (text(id) === null ? null : Number(text(id)));
  const chosen = page.actions[Number(document.getElementById("whatif-action").value)];
  const name = text(FIELDS.name) || "";
  return {
    name,
    kind: document.getElementById(FIELDS.kind).value,
    description: chosen && chosen.name === name ? chosen.description : "",
    medium: text(FIELDS.medium),
    volume_L: number(FIELDS.volume_L),
    input: text(FIELDS.input),
    value: number(FIELDS.value),
  };
}

function showResult(...children) {
  const box = document.getElementById("whatif-result");
  box.replaceChildren(...children);
  box.hidden = false;
}

async function evaluate(event) {
  event.preventDefault();
  const button = document.getElementById("whatif-evaluate");
  button.disabled = true;
  showResult(el("p", { class: "muted" }, "Evaluating…"));
  try {
    const r = await api(`/api/assets/${ENC}/whatif`, { method: "POST", body: { action: readAction() } });
    const cell = (testid, v) => el("td", { class: "num", dataset: { testid } }, v);
    showResult(
      el("p", {}, `${r.action} at batch hour ${num(r.at_h, 1)} (${r.members} members):`),
      el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "before"), el("th", {}, "after"))),
        el("tbody", {},
          el("tr", {}, el("th", {}, "P(all specifications met)"), cell("whatif-p-ok-before", pct(r.p_ok_before)), cell("whatif-p-ok-after", pct(r.p_ok_after))),
          el("tr", {}, el("th", {}, "Expected harvest titre (g/L)"), cell("whatif-titre-before", num(r.expected_titre_before, 3)), cell("whatif-titre-after", num(r.expected_titre_after, 3))))));
  } catch (error) {
    showResult(el("p", { class: "error", dataset: { testid: "whatif-error" } }, error.message));
  } finally {
    button.disabled = false;
  }
}

async function apply() {
  const action = readAction();
  const reason = document.getElementById("whatif-reason").value.trim();
  if (!reason) {
    showResult(el("p", { class: "error", dataset: { testid: "whatif-error" } }, "reason: required to apply an action (it is kept in the audit trail)"));
    document.getElementById("whatif-reason").focus();
    return;
  }
  if (!window.confirm(`Carry out "${action.name}" on ${ASSET} now?`)) return;
  try {
    const r = await api(`/api/assets/${ENC}/actions/apply`, { method: "POST", body: { action, reason } });
    document.getElementById("whatif-reason").value = "";
    showResult(el("p", { dataset: { testid: "whatif-applied" } }, `${r.action} took effect at batch hour ${num(r.effective_h, 1)} (audit record ${r.audit_seq}).`));
  } catch (error) {
    showResult(el("p", { class: "error", dataset: { testid: "whatif-error" } }, error.message));
  }
}

async function loadActions() {
  page.actions = await api(`/api/assets/${ENC}/actions`);
  const select = document.getElementById("whatif-action");
  select.replaceChildren(...page.actions.map((a, i) => el("option", { value: String(i) }, a.name)));
  select.addEventListener("change", () => fillAction(page.actions[Number(select.value)]));
  if (page.actions.length) fillAction(page.actions[0]);
  document.getElementById("whatif-form").addEventListener("submit", evaluate);
  document.getElementById("whatif-evaluate").hidden = !may(page.user.role, "evaluate_whatif");
  const applyButton = document.getElementById("whatif-apply");
  applyButton.hidden = !may(page.user.role, "apply_action");
  document.getElementById("whatif-reason-label").hidden = applyButton.hidden;
  applyButton.addEventListener("click", apply);
}

// ---- live stream --------------------------------------------------------------------------

function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(() => fn().catch((error) => showError(error.message)), ms);
  };
}

function connect() {
  const live = document.getElementById("live-state");
  const stream = new EventSource(`/api/stream?asset=${ENC}`);
  const onForecast = debounce(
    () => Promise.all([loadForecast(), loadDetail(), refreshEstimated()]), 300);
  const onAlarm = debounce(() => Promise.all([loadAlarms(), loadDetail()]), 300);
  stream.addEventListener("open", () => { live.textContent = "connected"; });
  stream.addEventListener("sample", onSample);
  stream.addEventListener("forecast", onForecast);
  stream.addEventListener("alarm", onAlarm);
  stream.addEventListener("error", () => {
    if (stream.readyState !== EventSource.CLOSED) {
      live.textContent = "reconnecting";
      return;
    }
    live.textContent = "disconnected";
    // A refused stream (e.g. the session ended) closes for good: check the session, retry.
    setTimeout(() => api("/api/auth/me").then(connect, () => {}), 5000);
  });
}

// ---- start --------------------------------------------------------------------------------

async function start() {
  try {
    page.user = await requireUser();
  } catch (error) {
    showError(error.message);
    return;
  }
  if (!window.Plotly) {
    showError("plotly.js did not load (/static/vendor/plotly.min.js): charts are unavailable.");
    return;
  }
  try {
    await loadDetail();
  } catch (error) {
    showError(error.status === 404 ? `Unknown asset "${ASSET}".` : `Could not load ${ASSET}: ${error.message}`);
    document.getElementById("asset-name").textContent = ASSET || "Asset";
    document.querySelectorAll("main section").forEach((s) => { s.hidden = true; });
    return;
  }
  setUpSetpoints(ENC, page.detail, page.user);
  const parts = [loadForecast(), loadAlarms(), loadActions(), loadSignals()];
  const results = await Promise.allSettled(parts);
  const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  if (failed.length) showError(failed.join("; "));
  setInterval(flushSamples, FLUSH_MS);
  connect();
}

start();
