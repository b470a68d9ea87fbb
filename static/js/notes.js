// Upload progress for the note form. Without this script the form posts normally; with it, a
// note carrying a file is sent with XMLHttpRequest so the page can show how far the upload is.
(function () {
  "use strict";

  function formatMB(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function showResponse(xhr) {
    // The server answers a sent note with a redirect (followed by XHR) and a form with errors
    // with the form page itself: either way, show what it answered.
    if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && xhr.responseURL !== window.location.href) {
      window.location.assign(xhr.responseURL);
      return;
    }
    document.open();
    document.write(xhr.responseText);
    document.close();
  }

  function sendWithProgress(form, event) {
    var fileInput = form.querySelector('input[type="file"]');
    var kind = form.querySelector('input[name="kind"]:checked');
    if (!fileInput || !fileInput.files.length || (kind && kind.value !== "file") || !window.FormData) {
      return;
    }
    event.preventDefault();
    var box = form.querySelector(".upload-progress");
    var bar = box.querySelector("progress");
    var text = box.querySelector(".upload-progress-text");
    var button = form.querySelector('button[type="submit"]');
    box.hidden = false;
    // Say at once what the server would say after the whole upload.
    var maxBytes = Number(form.getAttribute("data-max-bytes"));
    if (maxBytes && fileInput.files[0].size > maxBytes) {
      bar.value = 0;
      text.textContent = "That file is too big: the limit is " + formatMB(maxBytes) + ".";
      return;
    }
    button.disabled = true;

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
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
    xhr.addEventListener("load", function () { showResponse(xhr); });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      text.textContent = "The upload failed. Check your connection and try again.";
    });
    xhr.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-upload-progress")) {
      sendWithProgress(form, event);
    }
  });
})();
