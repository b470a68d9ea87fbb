// Sign-up: tell the server which time zone this browser is in, so event times are shown in it
// from the first page. Without this script the field stays empty and the account starts in
// UTC (it can be changed in settings); the server checks the name either way.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  var fields = document.querySelectorAll('input[name="time_zone"][data-guess="zone"]');
  for (var i = 0; i < fields.length; i++) {
    if (!fields[i].value) {
      fields[i].value = zone;
    }
  }
})();
