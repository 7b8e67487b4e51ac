// Login page: POST /api/auth/login (sets the session cookie), then go to `next` or `/`.
import { api } from "./common.js";

/** The page to return to: a local path only (never another site). */
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

function start() {
  const form = document.getElementById("login-form");
  const message = document.getElementById("login-message");
  const submit = document.getElementById("login-submit");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.hidden = true;
    submit.disabled = true;
    try {
      await api("/api/auth/login", {
        method: "POST",
        noRedirect: true,
        body: {
          name: document.getElementById("login-name").value,
          password: document.getElementById("login-password").value,
        },
      });
      location.assign(nextPage());
    } catch (error) {
      const locked = error.status === 423 ? "Account locked: " : "";
      message.textContent = locked + error.message;
      message.hidden = false;
      submit.disabled = false;
    }
  });
}

start();
