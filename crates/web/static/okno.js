// Okno's own script: small helpers on top of server-rendered pages. Every page works
// without it; it adds the ticking timer, autosaved drafts, dropped files and the size check
// before sending (the server still refuses a larger upload with 413).
(function () {
  'use strict';

  // The browser's time zone, sent once in a cookie: pages show times in it unless the
  // person chose a zone in their profile (or is a client with a calendar of its own).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf('tz=') === -1) {
      document.cookie = 'tz=' + zone + '; Path=/; Max-Age=31536000; SameSite=Lax';
    }
  } catch (e) { /* no Intl: the firm's zone stays */ }

  // The running timer: the server renders the start; the clock ticks here.
  function tick() {
    document.querySelectorAll('.timer-clock[data-started]').forEach(function (clock) {
      var seconds = Math.max(0, Math.floor((Date.now() - Number(clock.dataset.started)) / 1000));
      var h = Math.floor(seconds / 3600);
      var m = Math.floor((seconds % 3600) / 60);
      var s = seconds % 60;
      clock.textContent = h + ':' + String(m).padStart(2, '0') + ':' + String(s).padStart(2, '0');
    });
  }

  // Files: what is chosen or dropped must fit the limit the server rendered into the form.
  function checkFiles(form, input) {
    var error = form.querySelector('[data-files-error]');
    var max = Number(form.dataset.maxBytes);
    var maxFiles = Number(form.dataset.maxFiles || 1);
    var files = Array.prototype.slice.call(input.files || []);
    var message = '';
    if (files.length > maxFiles) {
      message = form.dataset.tooMany;
    } else {
      var big = files.filter(function (f) { return f.size > max; });
      if (big.length) message = big.map(function (f) { return f.name; }).join(', ') + ': ' + form.dataset.tooLarge;
    }
    if (error) {
      error.textContent = message;
      error.hidden = !message;
      error.classList.toggle('field-error', !!message);
    }
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
    var list = form.querySelector('.chosen-files');
    if (list) {
      list.textContent = '';
      files.forEach(function (f) {
        var li = document.createElement('li');
        li.textContent = f.name + ' · ' + (f.size < 1048576 ? (f.size / 1024).toFixed(1) + ' KB' : (f.size / 1048576).toFixed(1) + ' MB');
        if (f.size > max) li.className = 'too-large';
        list.appendChild(li);
      });
    }
    return !message;
  }

  function setUpFiles(form) {
    var input = form.querySelector('input[type=file]');
    if (!input || !form.dataset.maxBytes) return;
    input.addEventListener('change', function () { checkFiles(form, input); });
    var zone = form.querySelector('.dropzone');
    if (zone) {
      ['dragenter', 'dragover'].forEach(function (kind) {
        zone.addEventListener(kind, function (e) { e.preventDefault(); zone.classList.add('dragging'); });
      });
      ['dragleave', 'drop'].forEach(function (kind) {
        zone.addEventListener(kind, function () { zone.classList.remove('dragging'); });
      });
      zone.addEventListener('drop', function (e) {
        e.preventDefault();
        if (!e.dataTransfer || !e.dataTransfer.files.length) return;
        // Dropped files join those already chosen.
        var all = new DataTransfer();
        Array.prototype.forEach.call(input.files || [], function (f) { all.items.add(f); });
        Array.prototype.forEach.call(e.dataTransfer.files, function (f) { all.items.add(f); });
        input.files = all.files;
        checkFiles(form, input);
      });
    }
    form.addEventListener('submit', function (e) {
      if (!checkFiles(form, input)) {
        e.preventDefault();
        input.focus();
      }
    });
  }

  // The new-ticket form keeps its unsent text in this browser while it is typed.
  function setUpAutosave(form) {
    var key = form.dataset.autosave;
    if (!key || !window.localStorage) return;
    var fields = ['subject', 'description'].map(function (name) { return form.elements[name]; }).filter(Boolean);
    var status = form.querySelector('.autosave-status');
    var empty = fields.every(function (f) { return !f.value; });
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(key) || 'null'); } catch (_) { saved = null; }
    if (saved && empty) {
      fields.forEach(function (f) { if (saved[f.name]) f.value = saved[f.name]; });
      if (status) status.textContent = form.dataset.restored;
    }
    var timer = null;
    function save() {
      var value = {};
      fields.forEach(function (f) { value[f.name] = f.value; });
      try { localStorage.setItem(key, JSON.stringify(value)); } catch (_) { return; }
      if (status) {
        var now = new Date();
        status.textContent = form.dataset.saved + ' · ' + String(now.getHours()).padStart(2, '0') + ':' + String(now.getMinutes()).padStart(2, '0');
      }
    }
    fields.forEach(function (f) {
      f.addEventListener('input', function () {
        clearTimeout(timer);
        timer = setTimeout(save, 400);
      });
    });
    form.addEventListener('submit', function (e) {
      if (e.defaultPrevented) return;
      // Sent (or saved as a draft on the server): a form shown again keeps its values. A
      // save still pending from the last keystroke must not bring the text back.
      clearTimeout(timer);
      try { localStorage.removeItem(key); } catch (_) { /* private mode */ }
    });
  }

  function setUp() {
    document.querySelectorAll('form[data-max-bytes]').forEach(setUpFiles);
    document.querySelectorAll('form[data-autosave]').forEach(setUpAutosave);
    tick();
    setInterval(tick, 1000);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setUp);
  } else {
    setUp();
  }
})();
