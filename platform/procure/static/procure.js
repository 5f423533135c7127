/* Progressive enhancements; the site works without JavaScript.
   A file of its own: the Content-Security-Policy forbids inline script. */
(function () {
  "use strict";

  function focusField(id) {
    var target = document.getElementById(id);
    if (!target) { return false; }
    target.focus();
    // Bring the field's label into view too (it is above the field).
    var label = document.querySelector('label[for="' + id + '"]') || target.closest("fieldset");
    (label || target).scrollIntoView({ block: "start" });
    return true;
  }

  function focusSummary() {
    var summary = document.getElementById("error-summary");
    var active = document.activeElement;
    // Unless the reader has moved on already (a fragment in the URL, e.g.
    // #main, may have put the focus on its target at load).
    if (summary && (!active || active === document.body || active.id === "main" || active === summary)) {
      summary.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    // The skip link moves the focus without adding #main to the address (a
    // form without action would carry the fragment into its next page).
    var skip = document.querySelector("a.skip-link");
    var main = document.getElementById("main");
    if (skip && main) {
      skip.addEventListener("click", function (event) {
        event.preventDefault();
        main.focus();
        main.scrollIntoView();
      });
    }
    // After a failed submit: focus moves to the error summary, so that screen
    // readers announce it and keyboard users start from it.
    var summary = document.getElementById("error-summary");
    if (summary) {
      focusSummary();
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        if (link && focusField(link.getAttribute("href").slice(1))) {
          event.preventDefault();
        }
      });
    }
  });
  // A table wider than the screen scrolls inside its .table-responsive box;
  // with no link or button in it the keyboard could not scroll it: make the
  // box itself focusable then (arrow keys scroll it).
  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";
  function scrollableTables() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.querySelector(FOCUSABLE)) {
        box.setAttribute("tabindex", "0");
      } else if (!scrolls && box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }

  window.addEventListener("load", function () {
    focusSummary();
    scrollableTables();
  });
  window.addEventListener("resize", scrollableTables);
})();
