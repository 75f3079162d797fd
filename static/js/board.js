// The pipeline board: drag a card to another column (SortableJS) or use the card's "Move" menu
// (a <details> listing the other stages, each a submit button of one form). Both send the
// same POST as the menu does without JavaScript, with an HX-Request header so the server
// answers fragments: the updated card and, marked hx-swap-oob, the two column headers and a
// status line, swapped in by htmx.swap. A refusal (409 stale version, 4xx, network failure)
// puts the card back where it was and says why in the live region. On a phone the stage
// switcher scrolls the one-column-per-screen board to a stage and follows the scrolling.
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

  function menuButton(card) {
    return card.querySelector(".move-menu__button");
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
        menuButton(card)?.focus();
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
    status.classList.remove("board-status--error");
    // htmx swaps the hx-swap-oob pieces (column headers, status line) by id, the card in place.
    // While settling, htmx copies the old card's attributes onto the new one; a style
    // attribute left by SortableJS would then be set from a string, which the CSP refuses.
    card.removeAttribute("style");
    window.htmx.swap(card, html, { swapStyle: "outerHTML" });
    const fresh = document.getElementById(card.id);
    if (fresh && fromKeyboard) {
      menuButton(fresh)?.focus();
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
      filter: "select, option, button, input, label, summary, .deal-card[aria-busy]",
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

  // The keyboard and screen-reader path: a stage chosen in the card's menu, moved in place
  // without a page load.
  board.addEventListener("submit", (event) => {
    const form = event.target.closest("form.deal-card__move");
    const stageId = event.submitter?.value;
    if (!form || !stageId || !window.htmx) {
      return; // Let the browser post the form.
    }
    const card = form.closest(".deal-card");
    const target = listFor(stageId);
    if (!target) {
      return; // Not a column of this board: let the browser post the form.
    }
    event.preventDefault();
    if (card.hasAttribute("aria-busy")) {
      return;
    }
    const menu = form.closest("details");
    menu.open = false;
    if (stageId === card.dataset.stage) {
      say(texts.msgSame, false);
      return;
    }
    const from = card.parentElement;
    const next = card.nextElementSibling;
    target.prepend(card);
    // Moving a node drops its focus; the keyboard user stays on the card's menu button.
    menuButton(card)?.focus();
    const putBack = () => {
      from.insertBefore(card, next && next.parentElement === from ? next : null);
    };
    move(card, stageId, putBack, true);
  });

  // Escape closes an open move menu and gives the focus back to its button.
  board.addEventListener("keydown", (event) => {
    const menu = event.target.closest?.("details.move-menu[open]");
    if (event.key === "Escape" && menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  // The stage switcher (phones): a link scrolls the board to its column, and the link of the
  // column in view is marked current as the board scrolls. Without JavaScript the links
  // still jump to the columns (fragment links).
  const switcher = document.querySelector(".board-switcher");
  if (switcher) {
    const links = Array.from(switcher.querySelectorAll("[data-stage-link]"));
    const mark = (stageId) => {
      for (const link of links) {
        if (link.dataset.stageLink === stageId) {
          link.setAttribute("aria-current", "true");
        } else {
          link.removeAttribute("aria-current");
        }
      }
    };
    switcher.addEventListener("click", (event) => {
      const link = event.target.closest("[data-stage-link]");
      const column = link && document.getElementById(`stage-${link.dataset.stageLink}`);
      if (!column) {
        return;
      }
      event.preventDefault();
      column.scrollIntoView({ block: "nearest", inline: "start" });
      mark(link.dataset.stageLink);
      // Screen reader and keyboard users land on the column's title.
      const title = column.querySelector(".board-column__title");
      title.setAttribute("tabindex", "-1");
      title.focus({ preventScroll: true });
    });
    if ("IntersectionObserver" in window) {
      const seen = new IntersectionObserver(
        (entries) => {
          for (const entry of entries) {
            if (entry.isIntersecting) {
              mark(entry.target.id.replace("stage-", ""));
            }
          }
        },
        { root: board, threshold: 0.6 },
      );
      for (const column of board.querySelectorAll(".board-column")) {
        seen.observe(column);
      }
    }
  }

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
