// The Prompts page: record a prompt with the browser's microphone (MediaRecorder) and
// upload the recording as it is; the server converts it to 8 kHz mono once approved.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var active = null;

  function send(button, blob) {
    var form = new FormData();
    var type = blob.type || "audio/webm";
    var suffix = type.indexOf("ogg") >= 0 ? ".ogg" : (type.indexOf("mp4") >= 0 ? ".m4a" : ".webm");
    form.append("csrf_token", token);
    form.append("lang", button.dataset.lang);
    form.append("key", button.dataset.key);
    form.append("file", blob, "take" + suffix);
    return fetch(button.dataset.upload, {
      method: "POST", body: form, credentials: "same-origin",
      headers: {"X-Requested-With": "fetch", "X-CSRFToken": token}
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      window.location.hash = "p-" + button.dataset.key;
      window.location.reload();
    });
  }

  function start(button) {
    navigator.mediaDevices.getUserMedia({audio: true}).then(function (stream) {
      var chunks = [];
      var recorder = new MediaRecorder(stream);
      recorder.ondataavailable = function (event) {
        if (event.data.size) { chunks.push(event.data); button.dataset.heard = "1"; }
      };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (track) { track.stop(); });
        button.textContent = button.dataset.start;
        button.disabled = true;
        send(button, new Blob(chunks, {type: recorder.mimeType})).catch(function () {
          button.disabled = false;
          button.classList.add("failed");
        });
      };
      active = {button: button, recorder: recorder};
      recorder.start(250);  // a chunk every quarter second: the button knows sound arrived
      button.textContent = button.dataset.stop;
      button.classList.add("recording");
    }).catch(function () { button.classList.add("failed"); });
  }

  document.querySelectorAll("button.record").forEach(function (button) {
    button.addEventListener("click", function () {
      if (active && active.button === button) {
        active.recorder.stop();
        button.classList.remove("recording");
        active = null;
      } else if (!active) {
        start(button);
      }
    });
  });
})();
