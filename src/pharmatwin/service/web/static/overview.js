// Plant overview: one card per asset (status, batch hour, P(fail) per specification from the
// latest forecast, active alarms), refreshed every 30 s and on forecast / alarm events.
import { api, el, num, pct, requireUser, riskClass, showError } from "./common.js";

const REFRESH_MS = 30000;

function card(asset) {
  const specs = Object.entries(asset.p_fail).map(([spec, p]) =>
    el("tr", { dataset: { testid: "p-fail", spec } },
      el("td", {}, spec),
      el("td", { class: `num ${riskClass(p)}` }, pct(p))),
  );
  const alarms = asset.active_alarms;
  return el("article", { class: "card", id: `asset-${asset.name}`, dataset: { testid: "asset-card", asset: asset.name } },
    el("h2", {}, el("a", { href: `/assets/${encodeURIComponent(asset.name)}`, dataset: { testid: "asset-link" } }, asset.name),
      " ", el("span", { class: `badge${alarms ? " alarm" : ""}`, dataset: { testid: "active-alarms" } },
        `${alarms} active alarm${alarms === 1 ? "" : "s"}`)),
    el("p", { class: "muted" }, asset.description),
    el("dl", {},
      el("dt", {}, "Status"),
      el("dd", { dataset: { testid: "asset-status" } },
        asset.batch_state || "idle", asset.live ? " · twin live" : " · twin not live"),
      el("dt", {}, "Batch"), el("dd", {}, asset.batch_id || "–"),
      el("dt", {}, "Batch hour"), el("dd", { dataset: { testid: "batch-h" } }, `${num(asset.batch_h, 1)} h`),
      el("dt", {}, "Phase"), el("dd", { dataset: { testid: "phase" } }, asset.phase || "–"),
      el("dt", {}, "Twin at"), el("dd", {}, `${num(asset.twin_h, 1)} h`),
      el("dt", {}, "Forecast at"), el("dd", {}, `${num(asset.forecast_h, 1)} h`)),
    specs.length
      ? el("table", { class: "pfail" }, el("thead", {}, el("tr", {}, el("th", {}, "Specification"), el("th", {}, "P(fail) at harvest"))), el("tbody", {}, specs))
      : el("p", { class: "muted" }, "No forecast yet."),
  );
}

async function refresh() {
  try {
    const assets = await api("/api/assets");
    const box = document.getElementById("assets");
    box.replaceChildren(...(assets.length ? assets.map(card) : [el("p", { class: "muted" }, "No assets.")]));
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    showError("");
  } catch (error) {
    showError(`Could not load the assets: ${error.message}`);
  }
}

async function start() {
  try {
    await requireUser();
  } catch (error) {
    showError(error.message);
    return;
  }
  await refresh();
  setInterval(refresh, REFRESH_MS);
  const stream = new EventSource("/api/stream");
  let pending = null;
  const soon = () => {
    if (pending === null) pending = setTimeout(() => { pending = null; refresh(); }, 500);
  };
  stream.addEventListener("forecast", soon);
  stream.addEventListener("alarm", soon);
}

start();
