// Small helpers for the office pages; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Keep a second click from sending a form twice (the office refuses the second decision anyway).
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent === "1") {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      for (const button of form.querySelectorAll("button")) button.disabled = true;
    });
  }
});
