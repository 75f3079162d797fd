// The app shell: the menu dialog, the service worker, and emptying its caches on sign-out.
"use strict";

(() => {
  const script = document.currentScript;

  // ---- Menu: a modal <dialog>. showModal() keeps focus inside and closes on Escape; focus goes back
  // to the button that opened it, and every opener's aria-expanded follows the dialog's state.
  function setUpMenu() {
    const menu = document.getElementById("app-menu");
    if (!menu || typeof menu.showModal !== "function") return;
    const openers = document.querySelectorAll("[data-menu-open]");
    let returnTo = null;
    const setExpanded = (value) => openers.forEach((button) => button.setAttribute("aria-expanded", String(value)));
    openers.forEach((button) => {
      button.addEventListener("click", () => {
        returnTo = button;
        menu.showModal();
        setExpanded(true);
        // The current section first, so the member sees where they are; else the first link.
        const first = menu.querySelector("a[aria-current]") || menu.querySelector("nav a");
        if (first) first.focus();
      });
    });
    menu.querySelectorAll("[data-menu-close]").forEach((button) => button.addEventListener("click", () => menu.close()));
    // A click on the backdrop (outside the panel) closes it, as on any phone sheet.
    menu.addEventListener("click", (event) => {
      if (event.target !== menu) return;
      const box = menu.getBoundingClientRect();
      const inside =
        event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) menu.close();
    });
    menu.addEventListener("close", () => {
      setExpanded(false);
      if (returnTo && returnTo.offsetParent !== null) returnTo.focus();
    });
  }

  // ---- Service worker: only where the browser allows one (HTTPS or localhost).
  function post(message) {
    if (!("serviceWorker" in navigator)) return Promise.resolve();
    return navigator.serviceWorker.ready.then((registration) => {
      if (registration.active) registration.active.postMessage(message);
    });
  }

  function setUpServiceWorker() {
    const url = script && script.dataset.serviceWorker;
    if (!url || !("serviceWorker" in navigator) || !window.isSecureContext) return;
    navigator.serviceWorker.register(url, { scope: "/" }).catch(() => {
      // No worker: the site works as before, only without the offline page.
    });
    post({ type: "language", lang: document.documentElement.lang });
  }

  // Signing out empties the worker's caches before the next member signs in (the server's
  // Clear-Site-Data header does the same where the browser honours it).
  function setUpSignOut() {
    document.querySelectorAll("form[data-sign-out]").forEach((form) => {
      form.addEventListener("submit", () => {
        post({ type: "clear" });
        if ("caches" in window) caches.keys().then((names) => names.forEach((name) => caches.delete(name)));
      });
    });
  }

  function start() {
    setUpMenu();
    setUpServiceWorker();
    setUpSignOut();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
