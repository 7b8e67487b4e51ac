// Shared helpers of the dashboard pages: API calls with the session cookie, the user bar,
// safe DOM building and number formatting. Plain ES module, no dependencies.

/** Roles that may do an action (mirror of pharmatwin.gmp.permissions; the API decides). */
export const MAY = {
  acknowledge_alarm: ["operator", "engineer", "qa", "admin"],
  change_setpoint: ["operator", "engineer", "admin"],
  evaluate_whatif: ["operator", "engineer", "qa", "admin"],
  apply_action: ["operator", "engineer", "admin"],
  view_audit: ["qa", "admin"],
  export_records: ["engineer", "qa", "admin"],
  sign_record: ["operator", "engineer", "qa", "admin"],
  approve_record: ["qa"],
};

/** An API error: HTTP status and the message of the API's error body. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Go to the login page, coming back to this page afterwards. */
export function toLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/login?next=${next}`);
}

/** Fetch `path` of the API as JSON; a 401 goes to the login page unless `noRedirect`. */
export async function api(path, { method = "GET", body, noRedirect = false } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    if (response.status === 401 && !noRedirect) toLogin();
    const message = (data && (data.message || data.detail)) || response.statusText;
    throw new ApiError(response.status, String(message));
  }
  return data;
}

/** Build an element: `el("a", {href: "/", class: "x", dataset: {testid: "y"}}, "text", child)`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** `value` with `digits` decimals, or an en dash when missing. */
export function num(value, digits = 2) {
  return value === null || value === undefined || Number.isNaN(value)
    ? "–"
    : Number(value).toFixed(digits);
}

/** A probability as a percentage, e.g. `0.125` -> `12.5 %`. */
export function pct(value) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(1)} %`;
}

/** CSS class of a probability of failure: ok below 5 %, warn below 50 %, bad above. */
export function riskClass(pFail) {
  if (pFail === null || pFail === undefined) return "unknown";
  if (pFail < 0.05) return "ok";
  return pFail < 0.5 ? "warn" : "bad";
}

/** A UTC time as `YYYY-MM-DD HH:MM` UTC. */
export function when(iso) {
  return iso ? iso.replace("T", " ").slice(0, 16) + " UTC" : "–";
}

/** A UTC time to the second, `YYYY-MM-DD HH:MM:SS UTC` (signatures, audit records). */
export function whenExact(iso) {
  return iso ? iso.replace("T", " ").slice(0, 19) + " UTC" : "–";
}

/** A signature's manifestation (21 CFR 11.50): printed name, date and time (UTC), meaning,
 * and whether it is valid for the record's current content. */
export function manifestation(sig) {
  const state = sig.valid
    ? el("span", { class: "badge ok", dataset: { testid: "signature-valid" } }, "valid")
    : el("span", { class: "badge bad", dataset: { testid: "signature-invalid" }, title: sig.problem }, "invalid");
  return el("div", { class: "signature", dataset: { testid: "signature", meaning: sig.meaning, user: sig.user } },
    el("strong", { dataset: { testid: "signature-name" } }, sig.printed_name),
    ` (${sig.user}) · `,
    el("span", { dataset: { testid: "signature-time" } }, whenExact(sig.signed_at)),
    " · ",
    el("span", { dataset: { testid: "signature-meaning" } }, sig.meaning),
    " ", state,
    sig.valid ? null : el("div", { class: "muted" }, sig.problem),
    sig.reason ? el("div", { class: "muted" }, `reason: ${sig.reason}`) : null);
}

/** Show `message` in the page's `#error` box (empty hides it). */
export function showError(message) {
  const box = document.getElementById("error");
  if (!box) return;
  box.textContent = message || "";
  box.hidden = !message;
}

/** The logged-in user (`{name, role}`), shown in the user bar with a working logout button;
 * goes to the login page without a session. */
export async function requireUser() {
  const me = await api("/api/auth/me");
  const name = document.getElementById("user-name");
  const role = document.getElementById("user-role");
  if (name) name.textContent = me.user.name;
  if (role) role.textContent = me.user.role;
  const audit = document.getElementById("nav-audit");
  if (audit) audit.hidden = !may(me.user.role, "view_audit");
  const logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try {
        await api("/api/auth/logout", { method: "POST", noRedirect: true });
      } finally {
        location.assign("/login");
      }
    });
  }
  return me.user;
}

/** True when `role` may do `action` (see `MAY`). */
export function may(role, action) {
  return (MAY[action] || []).includes(role);
}
