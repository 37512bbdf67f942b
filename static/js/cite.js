// Copy buttons for citations. Without JavaScript the citations are plain text to select;
// with it, each gets a button that copies it and says so.
(function () {
  "use strict";
  function copied(button, ok) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = ok ? button.getAttribute("data-copied") : label;
    if (ok) {
      setTimeout(function () { button.textContent = label; }, 2000);
    }
  }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { copied(button, true); },
        function () { copied(button, false); }
      );
    });
  });
})();
