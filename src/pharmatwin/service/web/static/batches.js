// Batch history: every batch from /api/batches, linked to its asset's page and to its
// electronic batch record (HTML; PDF for roles that export), with the record's signatures
// (manifestations, valid or not for the current content) and a form to sign it.
import { api, el, manifestation, may, requireUser, showError, when } from "./common.js";

const page = { user: null, batch: null, hash: null };

function recordLinks(batch) {
  const id = encodeURIComponent(batch.batch_id);
  return el("td", {},
    el("a", { href: `/api/batches/${id}/record.html`, target: "_blank", rel: "noopener", dataset: { testid: "batch-record-link" } }, "Batch record"),
    may(page.user.role, "export_records")
      ? [" · ", el("a", { href: `/api/batches/${id}/record.pdf`, dataset: { testid: "batch-record-pdf" } }, "PDF")]
      : null,
    " · ",
    el("button", { type: "button", dataset: { testid: "batch-signatures" }, onclick: () => openRecord(batch) }, "Signatures"));
}

function row(batch) {
  const asset = `/assets/${encodeURIComponent(batch.asset)}`;
  return el("tr", { dataset: { testid: "batch-row", batch: batch.batch_id } },
    el("td", {}, el("a", { href: asset }, batch.batch_id)),
    el("td", {}, el("a", { href: asset }, batch.asset)),
    el("td", {}, batch.recipe),
    el("td", {}, when(batch.start)),
    el("td", {}, when(batch.end)),
    el("td", {}, batch.state),
    recordLinks(batch));
}

/** Show the signatures of `batch`'s record, with the sign form for roles that may sign. */
async function openRecord(batch) {
  page.batch = batch;
  document.getElementById("record").hidden = false;
  document.getElementById("record-batch").textContent = batch.batch_id;
  await loadSignatures();
  document.getElementById("record").scrollIntoView({ behavior: "smooth" });
}

async function loadSignatures() {
  const params = new URLSearchParams({ record_type: "batch_record", record_id: page.batch.batch_id });
  const box = document.getElementById("record-signatures");
  try {
    const listed = await api(`/api/signatures?${params}`);
    page.hash = listed.content_hash;
    document.getElementById("record-hash").textContent = listed.content_hash;
    box.replaceChildren(...(listed.signatures.length
      ? listed.signatures.map(manifestation)
      : [el("p", { class: "muted", dataset: { testid: "no-signatures" } }, "Not signed.")]));
  } catch (error) {
    box.replaceChildren(el("p", { class: "error" }, `Could not load the signatures: ${error.message}`));
  }
}

function setUpForm() {
  const form = document.getElementById("sign-form");
  if (!may(page.user.role, "sign_record")) return;
  const meanings = ["authored", "reviewed"];
  if (may(page.user.role, "approve_record")) meanings.push("approved", "released");
  document.getElementById("sign-meaning").replaceChildren(
    ...meanings.map((m) => el("option", { value: m, selected: m === "reviewed" }, m)));
  form.hidden = false;
  const message = document.getElementById("sign-message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    const button = document.getElementById("sign-submit");
    button.disabled = true;
    const password = document.getElementById("sign-password");
    const body = {
      record_type: "batch_record",
      record_id: page.batch.batch_id,
      meaning: document.getElementById("sign-meaning").value,
      password: password.value,
      reason: document.getElementById("sign-reason").value.trim(),
    };
    // a finished batch's record is signed as shown; a running one as it stands when signed
    if (page.batch.state !== "running" && page.hash) body.content_hash = page.hash;
    try {
      await api("/api/signatures", { method: "POST", body, noRedirect: true });
      form.reset();
      document.getElementById("sign-meaning").value = "reviewed";
      await loadSignatures();
    } catch (error) {
      message.textContent = error.message;
      message.hidden = false;
    } finally {
      password.value = "";
      button.disabled = false;
    }
  });
}

async function start() {
  try {
    page.user = await requireUser();
    const batches = await api("/api/batches");
    const body = document.querySelector("#batches tbody");
    body.replaceChildren(...(batches.length
      ? batches.map(row)
      : [el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No batches."))]));
    setUpForm();
  } catch (error) {
    showError(`Could not load the batches: ${error.message}`);
  }
}

start();
