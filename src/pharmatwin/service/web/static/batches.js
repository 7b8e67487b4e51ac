// Batch history: every batch from /api/batches, linked to its asset's page.
import { api, el, requireUser, showError, when } from "./common.js";

function row(batch) {
  const asset = `/assets/${encodeURIComponent(batch.asset)}`;
  return el("tr", { dataset: { testid: "batch-row", batch: batch.batch_id } },
    el("td", {}, el("a", { href: asset }, batch.batch_id)),
    el("td", {}, el("a", { href: asset }, batch.asset)),
    el("td", {}, batch.recipe),
    el("td", {}, when(batch.start)),
    el("td", {}, when(batch.end)),
    el("td", {}, batch.state));
}

async function start() {
  try {
    await requireUser();
    const batches = await api("/api/batches");
    const body = document.querySelector("#batches tbody");
    body.replaceChildren(...(batches.length
      ? batches.map(row)
      : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No batches."))]));
  } catch (error) {
    showError(`Could not load the batches: ${error.message}`);
  }
}

start();
