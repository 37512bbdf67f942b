/* Release page: the card of a passage (its stance and summary) shows while its
   number is hovered or focused. Escape hides it without moving the pointer or
   the focus (WCAG 1.4.13); it shows again on the next hover or focus.
   The page works without this file: it only adds the Escape key. */
(function () {
  "use strict";
  function dismissAll() {
    document.querySelectorAll(".release-body .card").forEach(function (card) {
      card.classList.add("dismissed");
    });
  }
  function restore(event) {
    var number = event.target.closest && event.target.closest(".passage-number");
    if (number && number.nextElementSibling) {
      number.nextElementSibling.classList.remove("dismissed");
    }
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      dismissAll();
    }
  });
  document.addEventListener("focusin", restore);
  document.addEventListener("mouseover", restore);
})();

/* A link to a merged duplicate's passage (/r/<old>/#p3) arrives here as
   ?merged=<old>#p3: the banner maps old passage numbers to this release's, and
   this moves to the right passage. Without JavaScript the banner lists them. */
(function () {
  "use strict";
  var banner = document.querySelector("[data-passage-map]");
  if (!banner || !location.hash) {
    return;
  }
  var map;
  try {
    map = JSON.parse(banner.getAttribute("data-passage-map"));
  } catch (error) {
    return;
  }
  var target = map[location.hash.slice(1)];
  if (target && document.getElementById(target)) {
    // location.replace moves :target too (the highlight), without a new history entry.
    location.replace(location.pathname + location.search + "#" + target);
  }
})();
