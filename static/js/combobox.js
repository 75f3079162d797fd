// Searchable comboboxes (WAI-ARIA 1.2 combobox with a listbox) for the <select data-combobox>
// fields rendered by core.forms.ComboboxSelect. Options come from the server as one types
// (only what the member may pick); the <select> stays in the form and carries the value,
// so the field and its validation are the same as without JavaScript.
"use strict";

(() => {
  const DELAY_MS = 200;
  let counter = 0;

  const format = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => (key in values ? values[key] : ""));
  // A typed name inside a sentence of the other direction is isolated (U+2068 … U+2069), as <bdi> would.
  const isolate = (text) => `\u2068${text}\u2069`;

  function csrfToken(select) {
    const field = select.form && select.form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function enhance(select) {
    if (select.dataset.comboboxReady) return;
    select.dataset.comboboxReady = "1";
    counter += 1;
    const texts = select.dataset;
    const id = select.id || `combobox-${counter}`;
    const listId = `${id}-listbox`;
    const emptyOption = [...select.options].find((option) => option.value === "");

    // The text box takes the select's id, so its <label for> and the error summary's links lead to it.
    const input = document.createElement("input");
    input.type = "text";
    input.id = id;
    select.id = `${id}-select`;
    select.dataset.comboboxInput = id;
    input.className = "combobox__input";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");
    input.setAttribute("dir", "auto");
    input.placeholder = texts.textHint || "";
    for (const name of ["aria-describedby", "aria-invalid"]) {
      if (select.hasAttribute(name)) input.setAttribute(name, select.getAttribute(name));
    }
    // The hidden select must not stop the browser's own checks: the server checks the choice.
    if (select.required) {
      input.setAttribute("aria-required", "true");
      select.required = false;
    }

    const list = document.createElement("ul");
    list.id = listId;
    list.className = "combobox__list";
    list.setAttribute("role", "listbox");
    const label = document.querySelector(`label[for="${CSS.escape(id)}"]`);
    if (label) {
      label.id = label.id || `${id}-label`;
      list.setAttribute("aria-labelledby", label.id);
    }
    list.hidden = true;

    const status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");

    const box = document.createElement("div");
    box.className = "combobox";
    select.after(box);
    box.append(input, list, status);
    select.hidden = true;
    select.tabIndex = -1;

    const selectedLabel = () => {
      const option = select.selectedOptions[0];
      return option && option.value !== "" ? option.textContent.trim() : "";
    };
    input.value = selectedLabel();

    let options = []; // [{id, label, create?}]
    let active = -1;
    let timer = null;
    let request = 0;
    let creating = false;

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function setActive(index) {
      const items = list.querySelectorAll("[role=option]");
      items.forEach((item, position) => item.setAttribute("aria-selected", String(position === index)));
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render(results, query) {
      options = results.map((row) => ({ id: String(row.id), label: row.label }));
      if (emptyOption && !query) options.unshift({ id: "", label: emptyOption.textContent.trim() });
      if (texts.comboboxCreate && query && !options.some((row) => row.label.trim() === query)) {
        options.push({ id: "", label: format(texts.textCreate, { name: isolate(query) }), create: query });
      }
      list.replaceChildren(
        ...options.map((row, index) => {
          const item = document.createElement("li");
          item.id = `${listId}-${index}`;
          item.setAttribute("role", "option");
          item.setAttribute("aria-selected", "false");
          item.className = row.create ? "combobox__option combobox__option--create" : "combobox__option";
          item.dir = "auto";
          item.textContent = row.label;
          return item;
        }),
      );
      const found = options.filter((row) => !row.create && row.id !== "").length;
      status.textContent = found ? format(texts.textCount || "", { count: found.toLocaleString(document.documentElement.lang) }) : texts.textEmpty || "";
      if (!options.length) {
        const none = document.createElement("li");
        none.className = "combobox__none";
        none.setAttribute("aria-hidden", "true");
        none.textContent = texts.textEmpty || "";
        list.append(none);
      }
      open();
      setActive(-1);
    }

    async function search() {
      const query = input.value.trim();
      const mine = ++request;
      const url = new URL(select.dataset.combobox, window.location.href);
      url.searchParams.set("q", query);
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok || mine !== request) return;
        const data = await response.json();
        if (mine === request && document.activeElement === input) render(data.results || [], query);
      } catch {
        // Offline or a failed request: the typed text stays; the select keeps its value.
      }
    }

    function choose(id, text) {
      let option = [...select.options].find((item) => item.value === id);
      if (!option) {
        option = new Option(text, id);
        select.add(option);
      }
      select.value = id;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      input.value = id === "" ? "" : text;
      close();
    }

    async function create(name) {
      if (creating) return; // a double click creates one company
      creating = true;
      const body = new URLSearchParams({ name });
      try {
        const response = await fetch(texts.comboboxCreate, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(select), Accept: "application/json" },
        });
        const data = await response.json();
        if (response.ok) {
          choose(String(data.id), data.label);
          status.textContent = format(texts.textCreated || "", { name: isolate(data.label) });
        } else {
          const fields = (data.error && data.error.fields) || {};
          const first = Object.values(fields).flat()[0];
          status.textContent = first || (data.error && data.error.message) || "";
        }
      } finally {
        creating = false;
      }
    }

    function pick(index) {
      const row = options[index];
      if (!row) return;
      if (row.create) create(row.create);
      else choose(row.id, row.label);
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(search, DELAY_MS);
    });
    input.addEventListener("focus", () => input.select());
    input.addEventListener("keydown", (event) => {
      const count = options.length;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) { search(); return; }
        if (count) setActive((active + 1) % count);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (count) setActive(active <= 0 ? count - 1 : active - 1);
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) {
          event.preventDefault(); // choosing an option does not send the form
          pick(active);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
          input.value = selectedLabel();
        }
      }
    });
    // mousedown: choose before the text box loses focus (which closes the list).
    list.addEventListener("mousedown", (event) => {
      const item = event.target.closest("[role=option]");
      if (!item) return;
      event.preventDefault();
      pick([...list.querySelectorAll("[role=option]")].indexOf(item));
    });
    input.addEventListener("blur", () => {
      clearTimeout(timer);
      close();
      // Text that names no option is not a value: an empty box clears an optional field,
      // anything else goes back to the option that is chosen.
      if (input.value.trim() === "" && emptyOption) choose("", "");
      else input.value = selectedLabel();
    });
  }

  function enhanceAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("select[data-combobox]").forEach(enhance);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => enhanceAll(document));
  else enhanceAll(document);
  // Forms swapped in by HTMX (the board's quick add, the activity panel) are enhanced too.
  document.addEventListener("htmx:load", (event) => enhanceAll(event.target));
})();
