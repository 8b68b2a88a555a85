// Progressive enhancement only: the form works without it.
(function () {
  var box = document.querySelector("fieldset[data-max]");
  if (box) {
    var max = +box.getAttribute("data-max"), inputs = box.querySelectorAll("input[type=checkbox]");
    var sync = function () {
      var n = 0, i;
      for (i = 0; i < inputs.length; i++) if (inputs[i].checked) n++;
      for (i = 0; i < inputs.length; i++) inputs[i].disabled = n >= max && !inputs[i].checked;
    };
    box.addEventListener("change", sync); sync();
  }
  var t = document.getElementById("comment");
  if (t && t.maxLength > 0) {
    var p = document.createElement("p");
    p.className = "count"; p.setAttribute("aria-live", "polite");
    t.parentNode.insertBefore(p, t.nextSibling);
    // counts what is left, in the page's language: "còn 1.000 ký tự", "1,000 characters left"
    var text = t.getAttribute("data-count") || "{n}";
    var lang = document.documentElement.lang === "en" ? "en-US" : "vi-VN";  // 1.000 as survey/i18n.py writes it
    var left = function () { p.textContent = text.replace("{n}", (t.maxLength - t.value.length).toLocaleString(lang)); };
    t.addEventListener("input", left); left();
  }
  var s = document.querySelector(".error-summary");
  if (s) s.focus();
})();
