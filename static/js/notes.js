// Pownce where JavaScript runs. Nothing here is needed: without this script every form posts
// and every link loads as usual (notes/views/posting.py, notes/views/notes.py). With it:
// - the note form is sent in the background and the new note's card appears at the top of the
//   stream below it, without leaving the page; a note with a file shows its upload progress;
// - the marker next to "Send it" says who will read the note as the "Send to" choice changes;
// - "Delete" asks in a dialog instead of on a page of its own;
// - a link to a part of a page inside a closed <details> (the report form) opens it.
(function () {
  "use strict";

  var PARTIAL = "composer";

  function formatMB(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  // A path on this site, never another site's address.
  function sitePath(value, fallback) {
    return value && value.charAt(0) === "/" && value.charAt(1) !== "/" && value.indexOf("\\") < 0 ? value : fallback;
  }

  // --- The marker next to "Send it" ------------------------------------------------------------

  function updateMarker(form) {
    var select = form.querySelector('select[name="audience"]');
    var marker = form.querySelector(".audience-marker");
    if (!select || !marker) return;
    var option = select.options[select.selectedIndex];
    marker.textContent = option ? option.getAttribute("data-marker") || "" : "";
    marker.className = "audience-marker audience-marker-" + ((select.value || "").split(":")[0] || "none");
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.name === "audience") {
      var form = target.closest("form[data-composer]");
      if (form) updateMarker(form);
    }
  });

  // --- Sending a note in the background ------------------------------------------------------

  function say(form, text, link) {
    var status = form.querySelector(".composer-status");
    if (!status) return;
    status.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link;
      a.textContent = "See it";
      status.appendChild(document.createTextNode(" "));
      status.appendChild(a);
      status.appendChild(document.createTextNode("."));
    }
  }

  function showResponse(xhr) {
    // Not an answer for the form (a log-in page after a lost session, a 413 or 503 page): show
    // what the server answered, as a plain form post would have.
    if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && xhr.responseURL !== window.location.href) {
      window.location.assign(xhr.responseURL);
      return;
    }
    document.open();
    document.write(xhr.responseText);
    document.close();
  }

  function clearForm(form, key) {
    ["body", "url", "event_name", "event_place", "event_start", "file"].forEach(function (name) {
      var field = form.elements[name];
      if (field) field.value = "";
    });
    if (key && form.elements.idempotency_key) form.elements.idempotency_key.value = key;
    form.querySelectorAll(".composer-body .error, .composer-body .form-errors").forEach(function (el) {
      el.remove();
    });
    form.querySelectorAll(".field-error").forEach(function (el) {
      el.classList.remove("field-error");
    });
    var box = form.querySelector(".upload-progress");
    if (box) box.hidden = true;
  }

  function sent(form, xhr) {
    var location = sitePath(xhr.getResponseHeader("Pownce-Location"), "/");
    var stream = document.querySelector(".stream");
    if (!form.hasAttribute("data-stream") || !stream) {
      window.location.assign(location);
      return;
    }
    var holder = document.createElement("div");
    holder.innerHTML = xhr.responseText;
    var card = holder.querySelector("article.note");
    clearForm(form, xhr.getResponseHeader("Pownce-Form-Key"));
    if (card) {
      var empty = stream.querySelector(".stream-empty");
      if (empty) empty.remove();
      var there = document.getElementById(card.id);
      if (there) there.remove(); // the same form sent twice: one note
      card.classList.add("note-new");
      stream.insertBefore(card, stream.firstChild);
      say(form, "Your note was sent.");
    } else {
      say(form, "Your note was sent.", location);
    }
    if (form.elements.body) form.elements.body.focus();
  }

  function refused(form, html) {
    var body = form.querySelector(".composer-body");
    var chosen = form.querySelector('input[type="file"]');
    body.innerHTML = html;
    // What was typed comes back from the server; a chosen file cannot, so keep its input.
    var fresh = body.querySelector('input[type="file"]');
    if (chosen && fresh && chosen.files.length) fresh.replaceWith(chosen);
    updateMarker(form);
    say(form, "");
    var first = body.querySelector(".field-error input:not([type=radio]), .field-error textarea, .field-error select");
    if (first) {
      first.focus();
    } else {
      var errors = body.querySelector(".form-errors, .error");
      if (errors) {
        errors.setAttribute("tabindex", "-1");
        errors.focus();
      }
    }
  }

  function send(form, event) {
    if (!window.FormData || !window.XMLHttpRequest) return;
    var fileInput = form.querySelector('input[type="file"]');
    var kind = form.querySelector('input[name="kind"]:checked');
    var withFile = Boolean(fileInput && fileInput.files.length && (!kind || kind.value === "file"));
    var box = form.querySelector(".upload-progress");
    var bar = box && box.querySelector("progress");
    var text = box && box.querySelector(".upload-progress-text");
    var button = form.querySelector('button[type="submit"]');
    event.preventDefault();
    if (withFile && box) {
      box.hidden = false;
      // Say at once what the server would say after the whole upload.
      var maxBytes = Number(form.getAttribute("data-max-bytes"));
      if (maxBytes && fileInput.files[0].size > maxBytes) {
        bar.value = 0;
        text.textContent = "That file is too big: the limit is " + formatMB(maxBytes) + ".";
        return;
      }
    }
    var data = new FormData(form);
    if (fileInput && !withFile) data.delete(fileInput.name);
    button.disabled = true;
    say(form, "Sending…");

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Pownce-Partial", PARTIAL);
    if (withFile && box) {
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.round((e.loaded / e.total) * 100);
        bar.value = percent;
        text.textContent = percent + "% · " + formatMB(e.loaded) + " of " + formatMB(e.total);
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        text.textContent = "Uploaded, saving…";
      });
    }
    xhr.addEventListener("load", function () {
      button.disabled = false;
      if (xhr.status === 201) {
        sent(form, xhr);
      } else if (xhr.status === 400 && xhr.getResponseHeader("Pownce-Partial") === PARTIAL) {
        refused(form, xhr.responseText);
      } else {
        showResponse(xhr);
      }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      if (text) text.textContent = "";
      say(form, "The note could not be sent. Check your connection and try again.");
    });
    xhr.send(data);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-composer") && !event.defaultPrevented) {
      send(form, event);
    }
  });

  // --- "Delete…" asks in a dialog ---------------------------------------------------------------
  // The link leads to a page that asks "Delete this note?"; here the same question is asked on
  // the page, and "Delete" posts the same form that page would (with a CSRF token the page holds).

  var dialog = null;
  var opener = null;

  function confirmDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-detail");
    dialog.innerHTML =
      '<form method="post" class="confirm-dialog-form">' +
      '<h2 id="confirm-dialog-title"></h2><p id="confirm-dialog-detail"></p>' +
      '<input type="hidden" name="csrfmiddlewaretoken"><input type="hidden" name="next">' +
      '<div class="confirm-dialog-buttons"><button type="submit" class="btn btn-danger">Delete</button> ' +
      '<button type="button" class="btn confirm-dialog-cancel">Cancel</button></div></form>';
    document.body.appendChild(dialog);
    dialog.querySelector(".confirm-dialog-cancel").addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close(); // a click on the backdrop
    });
    dialog.addEventListener("close", function () {
      if (opener && document.contains(opener)) opener.focus();
    });
    return dialog;
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[data-confirm]") : null;
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var token = document.querySelector('input[name="csrfmiddlewaretoken"]');
    var url = new URL(link.href, window.location.href);
    if (!token || typeof HTMLDialogElement !== "function" || url.origin !== window.location.origin) return;
    event.preventDefault();
    var box = confirmDialog();
    var form = box.querySelector("form");
    form.action = url.pathname;
    form.elements.next.value = url.searchParams.get("next") || "";
    form.elements.csrfmiddlewaretoken.value = token.value;
    box.querySelector("h2").textContent = link.getAttribute("data-confirm");
    box.querySelector("#confirm-dialog-detail").textContent = link.getAttribute("data-confirm-detail") || "";
    var menu = link.closest("details");
    opener = menu ? menu.querySelector("summary") : link;
    if (menu) menu.open = false;
    box.showModal();
    box.querySelector(".confirm-dialog-cancel").focus(); // the safe choice first
  });

  // --- Menus and folded sections ------------------------------------------------------------------

  // One card menu open at a time: a click elsewhere or Escape closes it.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.note-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.note-menu[open]").forEach(function (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });

  // A link to a part of the page inside a closed <details> (the card menu's "Report…") opens it.
  function openTarget() {
    var id = window.location.hash.slice(1);
    var target = id ? document.getElementById(decodeURIComponent(id)) : null;
    var folded = target ? target.closest("details") : null;
    if (folded) folded.open = true;
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
