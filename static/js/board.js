// The pipeline board: drag a card to another column (SortableJS) or use the card's own
// "Move to stage" form. Both send the same POST as the form does without JavaScript, with an
// HX-Request header so the server answers fragments: the updated card and, marked
// hx-swap-oob, the two column headers and a status line. A refusal (409 stale version,
// 4xx, network failure) puts the card back where it was and says why in the live region.
(() => {
  "use strict";

  const board = document.querySelector("[data-board]");
  if (!board) {
    return;
  }
  const status = document.getElementById("board-status");
  const texts = board.dataset;

  function say(message, isError) {
    status.classList.toggle("board-status--error", Boolean(isError));
    // Emptied first so that a message equal to the previous one is announced again.
    status.textContent = "";
    window.setTimeout(() => {
      status.textContent = message;
    }, 50);
  }

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // Applies an answer the way HTMX would: hx-swap-oob pieces replace the element with the
  // same id (or its content, for "innerHTML"); the card replaces the one that moved.
  function apply(fragment, card) {
    let fresh = null;
    for (const element of Array.from(fragment.children)) {
      const oob = element.getAttribute("hx-swap-oob");
      const current = element.id ? document.getElementById(element.id) : null;
      if (oob === "innerHTML") {
        if (current) {
          current.classList.remove("board-status--error");
          current.replaceChildren(...element.childNodes);
        }
      } else if (oob) {
        element.removeAttribute("hx-swap-oob");
        if (current) {
          current.replaceWith(element);
        }
      } else if (element.classList.contains("deal-card")) {
        card.replaceWith(element);
        fresh = element;
      }
    }
    return fresh;
  }

  function refusal(html) {
    const line = parse(html).querySelector(".board-refusal");
    return line ? line.textContent.trim() : "";
  }

  async function move(card, stageId, putBack, fromKeyboard) {
    const form = card.querySelector("form.deal-card__move");
    const data = new FormData(form);
    data.set("stage", stageId);
    data.set("version", card.dataset.version);
    data.set("board_owner", board.dataset.owner || "");
    card.setAttribute("aria-busy", "true");
    const undo = (message) => {
      putBack();
      card.removeAttribute("aria-busy");
      say(message, true);
      if (fromKeyboard) {
        form.elements.stage.focus();
      }
    };

    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "HX-Request": "true", "X-CSRFToken": texts.csrf },
      });
    } catch {
      undo(texts.msgNetwork);
      return;
    }
    const lostForm = response.headers.get("HX-Redirect");
    if (response.ok && lostForm) {
      // A lost deal needs its reason: the loss form asks for it, then comes back here.
      putBack();
      card.removeAttribute("aria-busy");
      say(texts.msgLost, false);
      window.location.assign(lostForm);
      return;
    }
    const html = await response.text();
    if (!response.ok) {
      undo(refusal(html) || texts.msgFailed);
      return;
    }
    const fresh = apply(parse(html), card);
    if (fresh && fromKeyboard) {
      fresh.querySelector("select").focus();
    }
  }

  function listFor(stageId) {
    return board.querySelector(`.board-column__cards[data-stage="${CSS.escape(stageId)}"]`);
  }

  // Without SortableJS (static files not built) the keyboard path below still works.
  const lists = window.Sortable ? board.querySelectorAll(".board-column__cards") : [];
  for (const list of lists) {
    window.Sortable.create(list, {
      group: "deals",
      sort: false,
      draggable: ".deal-card",
      // Form controls inside a card stay usable; a card waiting for the server stays put.
      filter: "select, option, button, input, label, .deal-card[aria-busy]",
      preventOnFilter: false,
      delay: 200,
      delayOnTouchOnly: true,
      animation: 120,
      ghostClass: "deal-card--ghost",
      chosenClass: "deal-card--chosen",
      onEnd(event) {
        if (event.from === event.to) {
          return;
        }
        const { item: card, from, oldIndex } = event;
        const putBack = () => from.insertBefore(card, from.children[oldIndex] || null);
        move(card, event.to.dataset.stage, putBack, false);
      },
    });
  }

  // The keyboard and screen-reader path: the card's form, moved in place without a page load.
  board.addEventListener("submit", (event) => {
    const form = event.target.closest("form.deal-card__move");
    if (!form) {
      return;
    }
    const card = form.closest(".deal-card");
    const stageId = form.elements.stage.value;
    const target = listFor(stageId);
    if (!target) {
      return; // Not a column of this board: let the browser post the form.
    }
    event.preventDefault();
    if (card.hasAttribute("aria-busy")) {
      return;
    }
    if (stageId === card.dataset.stage) {
      say(texts.msgSame, false);
      return;
    }
    const from = card.parentElement;
    const next = card.nextElementSibling;
    const previousStage = card.dataset.stage;
    target.prepend(card);
    // Moving a node drops its focus; the keyboard user stays on the card's control.
    form.elements.stage.focus();
    const putBack = () => {
      from.insertBefore(card, next && next.parentElement === from ? next : null);
      form.elements.stage.value = previousStage;
    };
    move(card, stageId, putBack, true);
  });

  // Quick-add (an HTMX form): the answer brings an empty form in place of the one sent, so
  // HTMX raises this event on the form's closest remaining ancestor; focus goes to the new
  // form's first field, ready for the next deal.
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const place = event.detail.elt.closest?.(".board-quick-add");
    if (!place) {
      return;
    }
    const status = event.detail.xhr.status;
    if (status === 201) {
      place.querySelector(".board-quick-add__form input:not([type=hidden])")?.focus();
    } else if (status !== 422) {
      say(texts.msgAddFailed, true);
    }
  });
})();
