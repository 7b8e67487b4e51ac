// Audit trail review (QA, admin): the records matching a filter, newest first, the chain check
// and links to the CSV and PDF review reports with the same filter.
import { api, el, may, requireUser, showError, whenExact } from "./common.js";

const FIELDS = ["record_type", "record_id", "user", "since", "until"];
const VALUE_CHARS = 300;

/** The filter as query parameters (datetime-local inputs are read as UTC). */
function query() {
  const form = document.getElementById("audit-filter");
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    const value = form.elements[name].value.trim();
    if (!value) continue;
    params.set(name, name === "since" || name === "until" ? `${value}Z` : value);
  }
  return params;
}

function text(value) {
  if (value === null || value === undefined) return "–";
  const s = typeof value === "string" ? value : JSON.stringify(value);
  return s.length > VALUE_CHARS ? `${s.slice(0, VALUE_CHARS)}…` : s;
}

function row(r) {
  return el("tr", { dataset: { testid: "audit-row", seq: String(r.seq), recordType: r.record_type } },
    el("td", { class: "num" }, String(r.seq)),
    el("td", {}, whenExact(r.at)),
    el("td", { dataset: { testid: "audit-user-cell" } }, r.user),
    el("td", {}, r.action),
    el("td", {}, el("span", { class: "muted" }, r.record_type), el("br"), r.record_id),
    el("td", { class: "value" }, text(r.old)),
    el("td", { class: "value" }, text(r.new)),
    el("td", { dataset: { testid: "audit-reason" } }, r.reason));
}

async function verify() {
  const box = document.getElementById("audit-verify");
  try {
    const v = await api("/api/audit/verify");
    box.className = `result ${v.ok ? "ok" : "bad"}`;
    box.dataset.ok = String(v.ok);
    box.textContent = v.ok
      ? `Chain intact: ${v.checked} records verified. Anchor (keep outside the database): seq ${v.head_seq}, hash ${v.head_hash}.`
      : `CHAIN BROKEN at record ${v.first_bad_seq}: ${v.message}`;
  } catch (error) {
    box.textContent = `Could not verify the chain: ${error.message}`;
  }
}

async function load() {
  const params = query();
  const suffix = params.toString() ? `?${params}` : "";
  document.getElementById("audit-csv").href = `/api/audit/export.csv${suffix}`;
  document.getElementById("audit-pdf").href = `/api/audit/export.pdf${suffix}`;
  try {
    const page = await api(`/api/audit${suffix}`);
    const records = page.records.slice().reverse();
    document.querySelector("#audit-records tbody").replaceChildren(...(records.length
      ? records.map(row)
      : [el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No records match."))]));
    document.getElementById("audit-count").textContent = page.total > page.records.length
      ? `Newest ${page.records.length} of ${page.total} records.`
      : `${page.total} record${page.total === 1 ? "" : "s"}.`;
    showError("");
  } catch (error) {
    showError(error.status === 403
      ? "Only QA and administrators may review the audit trail."
      : `Could not load the audit trail: ${error.message}`);
  }
}

async function start() {
  let user;
  try {
    user = await requireUser();
  } catch (error) {
    showError(error.message);
    return;
  }
  const canExport = may(user.role, "view_audit") && may(user.role, "export_records");
  document.getElementById("audit-csv").hidden = !canExport;
  document.getElementById("audit-pdf").hidden = !canExport;
  const form = document.getElementById("audit-filter");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  form.addEventListener("reset", () => setTimeout(load, 0));
  await Promise.all([verify(), load()]);
}

start();
