// Forms: a form that is being sent cannot be sent again, and after a failed submit focus goes to
// the error summary (templates/partials/form_errors.html), whose links lead to each field.
// The server refuses a repeat on its own too (a one-time form token, core.forms.submit_once);
// this only spares the member a second request and says that the first is on its way.
"use strict";

(() => {
  const BUSY = "data-submitting";
  // A request that never answers must not lock the form for good; a resend is safe anyway.
  const UNLOCK_AFTER_MS = 15000;

  function submitButtons(form) {
    const inside = form.querySelectorAll('button:not([type="button"]):not([type="reset"]), input[type="submit"]');
    const outside = form.id ? document.querySelectorAll(`[form="${CSS.escape(form.id)}"]`) : [];
    return [...inside, ...outside];
  }

  function lock(form) {
    form.setAttribute(BUSY, "");
    form.setAttribute("aria-busy", "true");
    // Disabled once this event is over: a button disabled now would not send its own name and value.
    setTimeout(() => submitButtons(form).forEach((button) => { button.disabled = true; }), 0);
    form._unlockTimer = setTimeout(() => unlock(form), UNLOCK_AFTER_MS);
  }

  function unlock(form) {
    clearTimeout(form._unlockTimer);
    form.removeAttribute(BUSY);
    form.removeAttribute("aria-busy");
    submitButtons(form).forEach((button) => { button.disabled = false; });
  }

  // Capturing on the document runs before htmx's own listener on the form, so a second
  // submit of a form in flight is stopped before it becomes a second request.
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "post") return;
      if (form.hasAttribute(BUSY)) {
        event.preventDefault();
        event.stopImmediatePropagation();
        return;
      }
      lock(form);
    },
    true,
  );

  // An HTMX form stays on the page: it can be used again once its answer is in.
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = event.target instanceof HTMLFormElement ? event.target : event.target.closest?.("form");
    if (form && form.hasAttribute(BUSY)) unlock(form);
  });

  // Back to a page kept in the browser's cache: its forms are usable again.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) document.querySelectorAll(`form[${BUSY}]`).forEach(unlock);
  });

  // ---- The error summary: focused once when it appears (on load, or swapped in by HTMX).
  function focusSummary() {
    const summary = document.querySelector("[data-error-summary]:not([data-summary-seen])");
    if (!summary) return;
    summary.setAttribute("data-summary-seen", "");
    summary.focus();
  }

  // A link to a field focuses it (the browser would only scroll to a hidden <select> a combobox stands for).
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("[data-error-summary] a[href^='#']");
    if (!link) return;
    const field = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!field) return;
    event.preventDefault();
    const target = field.matches("select[data-combobox]") ? document.getElementById(field.dataset.comboboxInput) || field : field;
    target.focus();
    target.scrollIntoView({ block: "center" });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusSummary);
  else focusSummary();
  document.addEventListener("htmx:afterSettle", focusSummary);
})();
