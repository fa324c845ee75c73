// Keyboard review (no inline script: the page's CSP forbids it).
// j / k: next / previous item of the queue; c: confirm the selected finding;
// d: open its dismiss form (1–9 pick a preset reason, Enter saves, Esc closes).
(function () {
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  function selected() { return document.querySelector(".finding.selected"); }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var form = document.querySelector(".dismiss-form.open");
    if (form) {
      if (e.key === "Escape") { form.classList.remove("open"); document.activeElement.blur(); return; }
      if (/^[1-9]$/.test(e.key) && document.activeElement.tagName !== "INPUT") {
        var sel = form.querySelector("select"); var i = parseInt(e.key, 10);
        if (i < sel.options.length) { sel.selectedIndex = i; e.preventDefault(); }
        return;
      }
      if (e.key === "Enter" && document.activeElement.tagName !== "BUTTON") {
        e.preventDefault(); form.requestSubmit(); return;
      }
      return;
    }
    if (typing(document.activeElement)) return;
    var body = document.body;
    if (e.key === "j" && body.dataset.next) { location.href = body.dataset.next; }
    else if (e.key === "k" && body.dataset.prev) { location.href = body.dataset.prev; }
    else if (e.key === "c") {
      var f = selected(); var c = f && f.querySelector(".confirm-form");
      if (c) { e.preventDefault(); c.requestSubmit(); }
    } else if (e.key === "d") {
      var f2 = selected(); var d = f2 && f2.querySelector(".dismiss-form");
      if (d) { e.preventDefault(); d.classList.add("open"); d.querySelector("select").focus(); }
    }
  });
  // clicking a highlighted span selects its finding
  document.addEventListener("click", function (e) {
    var m = e.target.closest && e.target.closest("mark.hl");
    if (m) {
      var u = new URL(location.href); u.searchParams.set("f", m.dataset.finding); location.href = u.toString();
    }
  });
  var cur = document.querySelector(".msg.current");
  if (cur && cur.scrollIntoView) cur.scrollIntoView({ block: "center" });
})();
