// Call / WhatsApp / Email actions: after a tap, the "log it" prompt of that customer appears
// (the link itself still opens the phone, WhatsApp or the mail app).
(function () {
  "use strict";

  function promptOf(link) {
    var box = link.closest("[data-customer-actions]");
    return box ? box.querySelector("form.log-prompt") : null;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-log-channel]");
    if (link) {
      var form = promptOf(link);
      if (!form) return;
      var channel = link.getAttribute("data-log-channel");
      form.querySelector("[data-log-channel-input]").value = channel;
      form.querySelector("[data-log-question]").textContent = link.getAttribute("data-log-prompt");
      // A call has an outcome; a message sent has none to ask about.
      var outcomes = form.querySelector("[data-log-outcomes]");
      var isCall = channel === "phone";
      outcomes.hidden = !isCall;
      outcomes.disabled = !isCall;
      form.hidden = false;
      form.querySelector("[data-log-question]").setAttribute("tabindex", "-1");
      return;
    }
    var dismiss = event.target.closest("[data-log-dismiss]");
    if (dismiss) {
      var prompt = dismiss.closest("form.log-prompt");
      if (prompt) prompt.hidden = true;
    }
  });
})();
