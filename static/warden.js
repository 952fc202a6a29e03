// Warden console behaviour, on top of server-rendered HTML that works without it.
//  - [data-multiselect]: a native <select multiple> becomes a searchable combobox with
//    removable chips (ARIA 1.2 combobox + listbox), operable by keyboard alone. The select stays
//    in the form, hidden, and remains the source of truth; every change dispatches a bubbling
//    "change" on it, which is what htmx listens for.
//  - the organization settings form: "No limit" disables the selection, and each server's tool
//    limit block shows only while the server is selected.
//  - [data-warn-unsaved]: leaving the page with edits in the form not saved asks first.
//  - a failed htmx request is shown, never dropped: in the preview panel for a preview, in the
//    page's error region otherwise.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var uid = 0;
  var MAX_SHOWN = 100; // options listed at once in a combobox

  function enhance(root) {
    var select = root.querySelector("select[multiple]");
    if (!select || root.dataset.enhanced) return;
    root.dataset.enhanced = "1";
    var base = select.id || "ms" + ++uid;
    var label = root.querySelector("label");
    var labelText = label ? label.textContent.trim() : "";

    var widget = el("div", "ms-widget");
    var chips = el("ul", "ms-chips");
    chips.setAttribute("aria-label", "Selected " + labelText.toLowerCase());
    var input = el("input", "ms-input");
    input.type = "text";
    input.id = base + "-input";
    input.autocomplete = "off";
    input.placeholder = "Type to search…";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", base + "-listbox");
    input.dataset.testid = base + "-input";
    var list = el("ul", "ms-list");
    list.id = base + "-listbox";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-multiselectable", "true");
    list.setAttribute("aria-label", labelText);
    list.hidden = true;
    // Focus stays in the input (aria-activedescendant names the active option). A long list
    // scrolls, and Chromium puts a scroller in the tab order: Tab from the input would focus
    // the list, the input's blur would hide it, and focus would fall on <body>. tabindex -1
    // keeps it out of the tab order; a press on it (its scroll bar too) keeps focus where it is.
    list.tabIndex = -1;
    list.addEventListener("mousedown", function (e) { e.preventDefault(); });
    var status = el("div", "sr-only");
    status.setAttribute("aria-live", "polite");

    widget.appendChild(chips);
    widget.appendChild(input);
    widget.appendChild(list);
    widget.appendChild(status);
    select.classList.add("ms-native");
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");
    root.appendChild(widget);
    if (label) label.htmlFor = input.id;

    var active = -1; // index into visible options
    var visible = [];

    function options() { return Array.prototype.slice.call(select.options); }

    function renderChips() {
      chips.textContent = "";
      options().forEach(function (o) {
        if (!o.selected) return;
        var li = el("li", "chip");
        li.appendChild(document.createTextNode(o.textContent));
        var b = el("button", "chip-remove");
        b.type = "button";
        b.textContent = "×";
        b.setAttribute("aria-label", "Remove " + o.textContent);
        b.addEventListener("click", function () {
          toggle(o);
          input.focus();
        });
        li.appendChild(b);
        chips.appendChild(li);
      });
    }

    function renderList() {
      var q = input.value.trim().toLowerCase();
      list.textContent = "";
      visible = options().filter(function (o) {
        return !q || o.textContent.toLowerCase().indexOf(q) >= 0 || (o.dataset.hint || "").toLowerCase().indexOf(q) >= 0;
      });
      if (active >= visible.length) active = visible.length - 1;
      // A catalogue can hold thousands of tools: list the first matches and say how many more.
      var more = visible.length - MAX_SHOWN;
      if (more > 0) visible = visible.slice(0, MAX_SHOWN);
      visible.forEach(function (o, i) {
        var li = el("li", "ms-option");
        li.id = base + "-opt-" + o.index;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", o.selected ? "true" : "false");
        li.appendChild(document.createTextNode(o.textContent));
        if (o.dataset.hint) {
          var h = el("span", "ms-hint");
          h.textContent = o.dataset.hint;
          li.appendChild(h);
        }
        if (i === active) li.classList.add("active");
        li.addEventListener("click", function () {
          active = i;
          toggle(o);
        });
        list.appendChild(li);
      });
      if (!visible.length) {
        var none = el("li", "ms-empty");
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.textContent = "No match";
        list.appendChild(none);
      } else if (more > 0) {
        var rest = el("li", "ms-empty");
        rest.setAttribute("role", "option");
        rest.setAttribute("aria-disabled", "true");
        rest.textContent = more + " more — keep typing to narrow";
        list.appendChild(rest);
      }
      if (active >= 0 && visible[active]) {
        input.setAttribute("aria-activedescendant", base + "-opt-" + visible[active].index);
        var a = list.querySelector(".active");
        if (a && a.scrollIntoView) a.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      if (!list.hidden) return;
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      renderList();
    }

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function toggle(o) {
      o.selected = !o.selected;
      status.textContent = o.textContent + (o.selected ? " added" : " removed");
      renderChips();
      if (!list.hidden) renderList();
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    input.addEventListener("input", function () {
      active = 0;
      if (list.hidden) open(); else renderList();
    });
    // The search text is not part of the form; keep its change events away from htmx.
    input.addEventListener("change", function (e) { e.stopPropagation(); });
    // Enter chooses an option; it must never submit the form implicitly either.
    input.addEventListener("keypress", function (e) { if (e.key === "Enter") e.preventDefault(); });
    input.addEventListener("focus", open);
    input.addEventListener("blur", close);
    input.addEventListener("keydown", function (e) {
      switch (e.key) {
        case "ArrowDown":
          e.preventDefault();
          if (list.hidden) open();
          active = Math.min(active + 1, visible.length - 1);
          renderList();
          break;
        case "ArrowUp":
          e.preventDefault();
          active = Math.max(active - 1, 0);
          renderList();
          break;
        case "Home":
        case "End":
          if (list.hidden) return;
          e.preventDefault();
          active = e.key === "Home" ? 0 : visible.length - 1;
          renderList();
          break;
        case "Enter":
          // Never submit the form from the search box.
          e.preventDefault();
          if (!list.hidden && visible[active]) {
            var chosen = visible[active];
            // Start the next search afresh, keeping the chosen option active.
            input.value = "";
            toggle(chosen);
            active = visible.indexOf(chosen);
            renderList();
          }
          break;
        case "Escape":
          if (!list.hidden) {
            e.preventDefault();
            close();
          } else if (input.value) {
            input.value = "";
          }
          break;
        case "Backspace":
          if (!input.value) {
            var chosen = options().filter(function (o) { return o.selected; });
            if (chosen.length) toggle(chosen[chosen.length - 1]);
          }
          break;
      }
    });
    select.addEventListener("change", function (e) {
      if (e.isTrusted) renderChips();
    });
    renderChips();
  }

  function el(tag, cls) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    return e;
  }

  // Organization settings: the selection only counts with "Limit" chosen, and tool limit
  // blocks follow the selected servers.
  function settings(form) {
    var selection = form.querySelector("[data-selection]");
    var servers = form.querySelector("select[name=servers]");
    var limits = form.querySelector("#tool-limits");
    function sync() {
      var limit = form.querySelector("input[name=mode][value=limit]");
      if (selection && limit) selection.disabled = !limit.checked;
      if (!servers || !limits) return;
      var chosen = {};
      Array.prototype.forEach.call(servers.options, function (o) { if (o.selected) chosen[o.value] = true; });
      limits.querySelectorAll(".tool-limit[data-server]").forEach(function (d) {
        var box = d.querySelector("input[name=limit_server]");
        d.classList.toggle("unselected", !chosen[d.dataset.server] && !(box && box.checked));
        delete chosen[d.dataset.server];
      });
      // Servers selected since the page was rendered: fetch their blocks.
      Object.keys(chosen).forEach(function (name) {
        if (!window.htmx) return;
        var slot = document.createElement("div");
        slot.dataset.server = name;
        slot.className = "tool-limit-slot";
        if (limits.querySelector('.tool-limit-slot[data-server="' + CSS.escape(name) + '"]')) return;
        limits.appendChild(slot);
        htmx.ajax("GET", limits.dataset.fetch + encodeURIComponent(name), { target: slot, swap: "outerHTML" });
      });
    }
    form.addEventListener("change", sync);
    sync();
  }

  // Copy buttons: [data-copy] copies the text of the element it names (secrets shown once).
  function copyButtons(scope) {
    scope.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () {
        var src = document.getElementById(b.dataset.copy);
        if (!src || !navigator.clipboard) return;
        navigator.clipboard.writeText(src.textContent.trim()).then(function () {
          b.textContent = "Copied";
          setTimeout(function () { b.textContent = "Copy"; }, 2000);
        }, function () {
          b.textContent = "Select and copy";
        });
      });
    });
  }

  // Edited forms not yet submitted ([data-unsaved] or [data-warn-unsaved]); the browser asks
  // before a page with one still on it is left. The preview's filter box is not an edit, and a
  // form's own submit buttons leave without a warning.
  var unsaved = [];
  function warnUnsaved(form) {
    function edited(e) {
      if (e.target.id === "impact-filter") return;
      if (unsaved.indexOf(form) < 0) unsaved.push(form);
    }
    form.addEventListener("input", edited);
    form.addEventListener("change", edited);
    form.addEventListener("submit", function () { unsaved = []; });
  }
  window.addEventListener("beforeunload", function (e) {
    if (unsaved.some(function (f) { return document.body.contains(f); })) {
      e.preventDefault();
      e.returnValue = "";
    }
  });

  function init(scope) {
    scope.querySelectorAll("[data-multiselect]").forEach(enhance);
    scope.querySelectorAll("form[data-settings]").forEach(settings);
    scope.querySelectorAll("form[data-unsaved], form[data-warn-unsaved]").forEach(warnUnsaved);
    copyButtons(scope);
  }

  // Failed htmx requests. htmx swaps no 4xx/5xx answer (see htmxConfig in views/layout.templ)
  // except those Warden itself sends for the purpose: its error partial, with X-Request-Id and
  // HX-Retarget naming a region of the page (the preview panel's status line, or the page's
  // error region). Any other failure — a proxy's error page, a network failure, a timeout — is
  // written into the same region here, as text.
  function wardenError(xhr) {
    return xhr && xhr.status >= 400 && xhr.getResponseHeader("X-Request-Id") && xhr.getResponseHeader("HX-Retarget");
  }

  function regionFor(target) {
    var panel = target && target.id === "preview-panel" && document.getElementById("preview-status");
    return panel || document.getElementById("console-error");
  }

  // showError writes "The preview failed: <why>" (or "The request failed: …") into the region.
  function showError(detail, why) {
    var region = regionFor(detail.target);
    if (!region) return;
    var what = (region.id === "preview-status" ? "The preview failed: " : "The request failed: ") + why;
    var note = el("div", "error-note");
    note.setAttribute("role", "alert");
    note.dataset.testid = "error-partial";
    var p = el("p");
    var strong = el("strong");
    strong.textContent = what;
    p.appendChild(strong);
    if (region.id === "preview-status") p.appendChild(document.createTextNode(" This preview is not of your latest edits; change the form again to retry."));
    note.appendChild(p);
    region.textContent = "";
    region.appendChild(note);
    dismissible(region);
  }

  // A note in the page's error region floats over the page: give it a way to go.
  function dismissible(region) {
    if (region.id !== "console-error") return;
    var note = region.querySelector(".error-note");
    if (!note || note.querySelector(".dismiss")) return;
    var b = el("button", "dismiss");
    b.type = "button";
    b.textContent = "Dismiss";
    b.addEventListener("click", function () { region.textContent = ""; });
    note.insertBefore(b, note.firstChild);
  }

  document.addEventListener("htmx:beforeSwap", function (e) {
    if (wardenError(e.detail.xhr)) e.detail.shouldSwap = true;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "console-error") dismissible(e.detail.target);
  });
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    if (wardenError(xhr)) return; // swapped in already
    showError(e.detail, "the server answered " + xhr.status + (xhr.statusText ? " " + xhr.statusText : "") + ".");
  });
  document.addEventListener("htmx:sendError", function (e) {
    showError(e.detail, "Warden could not be reached (the network or the server is down).");
  });
  document.addEventListener("htmx:timeout", function (e) {
    showError(e.detail, "Warden did not answer in time.");
  });
  // A request that succeeds after a failure clears the page's note (the preview panel's goes
  // with the panel it replaces).
  document.addEventListener("htmx:afterRequest", function (e) {
    var region = document.getElementById("console-error");
    if (e.detail.successful && region && e.detail.target !== region) region.textContent = "";
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
