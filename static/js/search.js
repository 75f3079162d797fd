// The header's search box as a WAI-ARIA combobox (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/).
// HTMX fetches the options as the person types (hx-get on the input); this module opens and closes the
// listbox, moves the active option with the arrow keys (focus stays in the input, aria-activedescendant
// names the option), opens the active option's record on Enter, closes on Escape, and focuses the box
// on "/" unless the person is typing in a field. Without JavaScript the form opens the results page.
(function () {
  "use strict";

  function typingInField(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    return Boolean(target.closest("input, textarea, select, [contenteditable]"));
  }

  function setUp(form) {
    const input = form.querySelector('[role="combobox"]');
    const popup = form.querySelector("[data-global-search-popup]");
    const listbox = form.querySelector('[role="listbox"]');
    const status = document.getElementById("global-search-status");
    const empty = document.getElementById("global-search-empty");
    if (!input || !popup || !listbox) return;

    const options = () => Array.from(listbox.querySelectorAll('[role="option"]'));
    const active = () => listbox.querySelector('[role="option"][aria-selected="true"]');
    // Something to show: options, or the line saying nothing was found.
    const hasContent = () => options().length > 0 || Boolean(empty && empty.textContent.trim());

    function clear() {
      listbox.replaceChildren();
      if (empty) empty.textContent = "";
      if (status) status.textContent = "";
    }

    function open() {
      if (!hasContent()) return;
      popup.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      popup.hidden = true;
      input.setAttribute("aria-expanded", "false");
      activate(null);
    }

    function activate(option) {
      options().forEach((item) => item.setAttribute("aria-selected", item === option ? "true" : "false"));
      if (option) {
        input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function move(step) {
      const items = options();
      if (!items.length) return;
      open();
      const index = items.indexOf(active());
      let next;
      if (index === -1) next = step > 0 ? 0 : items.length - 1;
      else next = (index + step + items.length) % items.length;
      activate(items[next]);
    }

    function follow(option) {
      const href = option && option.dataset.href;
      if (href) window.location.assign(href);
    }

    input.addEventListener("keydown", (event) => {
      if (event.altKey && event.key === "ArrowDown") {
        open();
        event.preventDefault();
      } else if (event.key === "ArrowDown") {
        move(1);
        event.preventDefault();
      } else if (event.key === "ArrowUp") {
        move(-1);
        event.preventDefault();
      } else if (event.key === "Enter") {
        const option = popup.hidden ? null : active();
        if (option) {
          event.preventDefault();
          follow(option);
        }
        // No active option: the form submits and the results page lists everything found.
      } else if (event.key === "Escape") {
        if (!popup.hidden) {
          close();
          event.preventDefault();
        } else if (input.value) {
          input.value = "";
          clear();
          event.preventDefault();
        }
      }
    });

    // A pointer picks an option without taking focus from the input first.
    listbox.addEventListener("mousedown", (event) => event.preventDefault());
    listbox.addEventListener("click", (event) => {
      const option = event.target.closest('[role="option"]');
      if (option) follow(option);
    });

    input.addEventListener("focus", open);
    form.addEventListener("focusout", (event) => {
      if (!form.contains(event.relatedTarget)) close();
    });
    document.addEventListener("click", (event) => {
      if (!form.contains(event.target)) close();
    });

    // New options arrived: show them (or close on an empty answer); no option is active yet.
    listbox.addEventListener("htmx:afterSwap", () => {
      activate(null);
      if (!hasContent()) close();
      else if (document.activeElement === input) open();
    });
    // An emptied box asks nothing: clear the options at once rather than after the next answer.
    input.addEventListener("input", () => {
      if (!input.value.trim()) {
        clear();
        close();
      }
    });

    document.addEventListener("keydown", (event) => {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typingInField(event.target)) return;
      if (document.querySelector("dialog[open]")) return;
      event.preventDefault();
      input.focus();
      input.select();
    });
  }

  function start() {
    document.querySelectorAll("[data-global-search]").forEach(setUp);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
