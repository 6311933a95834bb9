// The practice phone (/staff/simulator): the resident's side of a call and a text thread.
// The server plays Twilio's side (hotline/staff/simulator_views.py): each answer is a step
// of the real flow, rendered for this page (hotline/voice/browser.py). This script plays
// what is heard (recording or speech, the text always shown), sends keys as DTMF, counts
// silence down as the phone line would, records a voice message from the microphone, and
// shows the SMS thread the hotline would have sent. It never talks to Twilio.
(function () {
  "use strict";
  var phone = document.getElementById("phone");
  if (!phone) { return; }
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var t = phone.dataset;
  var statuses = JSON.parse(t.statuses || "{}");
  var el = function (id) { return document.getElementById(id); };
  var heard = el("heard"), countdown = el("countdown"), typed = el("typed"), state = el("call-state");
  var keys = document.querySelectorAll("#keypad .key");
  var call = null;  // {wait, digits, timer, audio, recorder, skip}

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  }

  function post(url, body, isForm) {
    var headers = {"X-Requested-With": "fetch", "X-CSRFToken": token};
    if (!isForm) { headers["Content-Type"] = "application/json"; }
    return fetch(url, {method: "POST", credentials: "same-origin", headers: headers,
                       body: isForm ? body : JSON.stringify(body || {})})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      });
  }

  function setKeys(enabled) { keys.forEach(function (k) { k.disabled = !enabled; }); }

  function stopTimer() {
    if (call && call.timer) { clearInterval(call.timer); call.timer = null; }
    countdown.hidden = true;
  }

  function startCountdown(seconds, label, done) {
    stopTimer();
    var left = seconds;
    countdown.hidden = false;
    countdown.textContent = fill(label, {seconds: left});
    call.timer = setInterval(function () {
      left -= 1;
      countdown.textContent = fill(label, {seconds: Math.max(left, 0)});
      if (left <= 0) { stopTimer(); done(); }
    }, 1000);
  }

  // --- what the caller hears ----------------------------------------------------------

  function speakInBrowser(part) {
    return new Promise(function (resolve) {
      if (!window.speechSynthesis || !part.text) { setTimeout(resolve, 300); return; }
      var utterance = new SpeechSynthesisUtterance(part.text);
      utterance.lang = part.language === "en" ? "en-US" : "vi-VN";
      utterance.onend = resolve; utterance.onerror = resolve;
      call.skip = function () { window.speechSynthesis.cancel(); resolve(); };
      window.speechSynthesis.speak(utterance);
    });
  }

  function playPart(part) {
    if (!call) { return Promise.resolve(); }
    if (part.pause) { return new Promise(function (r) { setTimeout(r, 200); }); }
    var last = heard.lastElementChild;
    var digit = (part.prompt || "").indexOf("digit_") === 0;
    if (digit && last && last.dataset.digits) {
      last.textContent += " " + part.text;  // a code read digit by digit: one line on the screen
    } else {
      var li = document.createElement("li");
      li.textContent = part.text || "♪";
      if (part.prompt) { li.dataset.prompt = part.prompt; }
      if (digit) { li.dataset.digits = "1"; }
      heard.appendChild(li);
      li.scrollIntoView({block: "nearest"});
    }
    if (!part.audio) { return speakInBrowser(part); }
    return new Promise(function (resolve) {
      var audio = new Audio(part.audio);
      var finish = function () { audio.pause(); call && (call.audio = null); resolve(); };
      call.audio = audio;
      call.skip = finish;
      audio.onended = finish;
      audio.onerror = function () { speakInBrowser(part).then(resolve); };
      audio.play().catch(function () { speakInBrowser(part).then(resolve); });
    });
  }

  function skipPrompt() { if (call && call.skip) { var s = call.skip; call.skip = null; s(); } }

  function play(doc) {
    if (!call) { return; }
    call.interrupted = false;
    var parts = doc.say || [];
    var chain = Promise.resolve();
    call.wait = doc.then;
    call.digits = "";
    typed.textContent = "";
    if (doc.then.kind === "gather") { setKeys(true); }
    parts.forEach(function (part) {
      chain = chain.then(function () {
        if (!call || (part.interruptible && call.interrupted)) { return null; }
        return playPart(part);
      });
    });
    chain.then(function () { if (call && call.wait === doc.then) { waitFor(doc.then); } });
  }

  function waitFor(then) {
    if (then.kind === "gather") {
      if (!call.timer) { startCountdown(then.timeout, t.tSilence, sendDigits); }
    } else if (then.kind === "record") {
      record(then);
    } else if (then.kind === "dial") {
      state.textContent = fill(t.tRinging, {numbers: then.numbers.join(", ")});
      el("dial-answer").hidden = !then.step;
      if (!then.step) { ended(); }
    } else if (then.kind === "redirect") {
      step({step: then.step});
    } else {
      ended();
    }
  }

  function step(body) {
    setKeys(false);
    stopTimer();
    return post(t.step, body).then(play).catch(failed);
  }

  function sendDigits() {
    if (!call || !call.wait || call.wait.kind !== "gather") { return; }
    var gather = call.wait;
    call.wait = null;
    step({step: gather.step, digits: call.digits});
  }

  function pressed(key) {
    if (!call || !call.wait) { return; }
    var wait = call.wait;
    if (wait.kind === "record") { if (key === (wait.finish_on_key || "#") && call.recorder) { call.recorder.stop(); } return; }
    if (wait.kind !== "gather") { return; }
    call.interrupted = true;  // keys cut the prompts, as on the phone
    skipPrompt();
    if (wait.finish_on_key && key === wait.finish_on_key) { sendDigits(); return; }
    call.digits += key;
    typed.textContent = call.digits;
    if (wait.num_digits && call.digits.length >= wait.num_digits) { sendDigits(); return; }
    startCountdown(wait.timeout, t.tSilence, sendDigits);  // the silence is counted from the last key
  }

  // --- the voice message ----------------------------------------------------------------

  function beep() {
    try {
      var context = new (window.AudioContext || window.webkitAudioContext)();
      var tone = context.createOscillator();
      tone.frequency.value = 880;
      tone.connect(context.destination);
      tone.start(); tone.stop(context.currentTime + 0.3);
    } catch (e) { /* no sound card: the screen says it */ }
  }

  function record(then) {
    var sendTake = function (blob) {
      var form = new FormData();
      form.append("step", JSON.stringify(then.step));
      if (blob && blob.size) { form.append("audio", blob, "message.webm"); }
      stopTimer();
      return post(t.record, form, true).then(play).catch(failed);
    };
    if (!navigator.mediaDevices || !window.MediaRecorder) { state.textContent = t.tNoMic; sendTake(null); return; }
    navigator.mediaDevices.getUserMedia({audio: true}).then(function (stream) {
      if (!call) { stream.getTracks().forEach(function (tr) { tr.stop(); }); return; }
      var chunks = [];
      var recorder = new MediaRecorder(stream);
      call.recorder = recorder;
      recorder.ondataavailable = function (event) { if (event.data.size) { chunks.push(event.data); } };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (tr) { tr.stop(); });
        if (call) { call.recorder = null; }
        phone.classList.remove("recording");
        sendTake(new Blob(chunks, {type: recorder.mimeType}));
      };
      beep();
      setKeys(true);
      phone.classList.add("recording");
      recorder.start(250);
      startCountdown(then.max_seconds, t.tRecording, function () { if (recorder.state !== "inactive") { recorder.stop(); } });
    }).catch(function () { state.textContent = t.tNoMic; sendTake(null); });
  }

  // --- the call ------------------------------------------------------------------------

  function failed() { state.textContent = t.tFailed; ended(true); }

  function ended(quiet) {
    if (!call) { return; }
    stopTimer();
    skipPrompt();
    if (call.recorder && call.recorder.state !== "inactive") { call.recorder.onstop = null; call.recorder.stop(); }
    call = null;
    setKeys(false);
    el("dial-answer").hidden = true;
    el("call").disabled = false;
    el("hangup").disabled = true;
    if (!quiet) { state.textContent = t.tEnded; }
    post(t.hangup, {}).then(refresh).catch(function () {});
  }

  el("call").addEventListener("click", function () {
    heard.innerHTML = "";
    call = {digits: ""};
    el("call").disabled = true;
    el("hangup").disabled = false;
    state.textContent = t.tCalling;
    post(t.call, {}).then(play).catch(failed);
  });
  el("hangup").addEventListener("click", function () { ended(); });
  keys.forEach(function (k) { k.addEventListener("click", function () { pressed(k.dataset.key); }); });
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "INPUT") { return; }
    if ("0123456789*#".indexOf(event.key) >= 0 && event.key.length === 1) { pressed(event.key); }
  });
  el("screen").addEventListener("click", skipPrompt);  // a tap on the screen skips the prompt
  el("dial-completed").addEventListener("click", function () {
    el("dial-answer").hidden = true;
    if (call && call.wait) { var w = call.wait; call.wait = null; step({step: w.step, dial_status: "completed"}); }
  });
  el("dial-no-answer").addEventListener("click", function () {
    el("dial-answer").hidden = true;
    if (call && call.wait) { var w = call.wait; call.wait = null; step({step: w.step, dial_status: "no-answer"}); }
  });

  // --- the SMS thread and the rehearsal's requests ---------------------------------------

  var thread = el("thread"), requests = el("requests");

  function show(data) {
    thread.innerHTML = "";
    data.thread.forEach(function (line) {
      var li = document.createElement("li");
      li.className = line.from;
      li.dataset.id = line.id;
      var who = document.createElement("small");
      who.textContent = line.from === "resident" ? thread.dataset.you : thread.dataset.hotline;
      var body = document.createElement("p");
      body.textContent = line.body;
      li.appendChild(who); li.appendChild(body);
      thread.appendChild(li);
    });
    requests.innerHTML = "";
    data.requests.forEach(function (r) {
      var li = document.createElement("li");
      li.dataset.code = r.code;
      var a = document.createElement("a");
      a.href = r.url; a.textContent = r.code;
      li.appendChild(a);
      li.appendChild(document.createTextNode(": " + (statuses[r.status] || r.status)));
      if (r.transcript) {
        var q = document.createElement("q");
        q.className = "transcript"; q.textContent = r.transcript;
        li.appendChild(document.createElement("br")); li.appendChild(q);
      }
      requests.appendChild(li);
    });
  }

  function refresh() {
    return fetch(t.state, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { return r.ok ? r.json() : null; }).then(function (d) { if (d) { show(d); } })
      .catch(function () {});
  }

  var form = el("sms-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      el("sms-send").disabled = true;
      post(t.sms, data, true).then(function (d) { form.reset(); show(d); })
        .catch(function () {}).then(function () { el("sms-send").disabled = false; });
    });
  }
  refresh();
  setInterval(refresh, 3000);  // replies come from the worker, transcripts from the speech worker
})();
