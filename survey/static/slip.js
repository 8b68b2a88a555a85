/* The slip's "Print" button (no inline handlers: the Content-Security-Policy forbids them). */
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
