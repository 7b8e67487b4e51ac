// The asset page's setpoint form: a model input, its new value and why; the API records the
// change with the old and the new value in the audit trail.
import { api, el, may, num } from "./common.js";

function describeSetpoint(info) {
  const range = [info.lower, info.upper].map((v) => (v === null ? "∞" : v)).join(" … ");
  document.getElementById("setpoint-description").textContent =
    `${info.description} (${info.unit}); range ${range}.`;
}

/** Show the setpoint form to roles that may change setpoints: input, value and a required
 * reason (kept in the audit trail with the old and the new value). */
export function setUpSetpoints(enc, detail, user) {
  if (!may(user.role, "change_setpoint") || !detail.setpoints.length) return;
  const infos = detail.setpoints;
  const select = document.getElementById("setpoint-name");
  select.replaceChildren(...infos.map((i) => el("option", { value: i.name }, `${i.name} (${i.unit})`)));
  select.addEventListener("change", () => describeSetpoint(infos.find((i) => i.name === select.value)));
  describeSetpoint(infos[0]);
  const box = document.getElementById("setpoint-result");
  const form = document.getElementById("setpoint-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = select.value;
    const info = infos.find((i) => i.name === name);
    const body = {
      value: Number(document.getElementById("setpoint-value").value),
      reason: document.getElementById("setpoint-reason").value.trim(),
    };
    const button = document.getElementById("setpoint-submit");
    button.disabled = true;
    try {
      const r = await api(`/api/assets/${enc}/setpoints/${encodeURIComponent(name)}`, { method: "PUT", body });
      const was = r.previous === null ? "" : ` (was ${r.previous})`;
      box.replaceChildren(el("p", { dataset: { testid: "setpoint-done" } },
        `${name} set to ${r.value} ${info.unit}${was} at batch hour ${num(r.effective_h, 1)}; audit record ${r.audit_seq}.`));
      form.reset();
      describeSetpoint(infos[0]);
    } catch (error) {
      box.replaceChildren(el("p", { class: "error", dataset: { testid: "setpoint-error" } }, error.message));
    } finally {
      box.hidden = false;
      button.disabled = false;
    }
  });
  document.getElementById("setpoint").hidden = false;
}
