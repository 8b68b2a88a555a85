/* Hài Lòng kiosk: enrolment, the rating screens, idle reset, the IndexedDB outbox and its replay.
   Vanilla JS, no framework.  Every answer is written to IndexedDB (with a client-generated UUID and
   the device time) before any network call; the outbox is replayed one answer at a time with
   exponential backoff; the server is idempotent on the UUID, so a replay after a lost reply is safe. */
(function () {
  'use strict';
  var LS_CRED = 'hl_kiosk_credential', LS_CONFIG = 'hl_kiosk_config';
  var APP_VERSION = (document.querySelector('meta[name=hl-app-version]') || {}).content || 'dev';
  var REPLAY_GAP_MS = 200, BACKOFF_MAX_MS = 30000, HEARTBEAT_MS = 60000, THANKS_MS = 5000, RECEIPT_VERDICT_MS = 4000, WEDGE_GAP_MS = 250;

  var T = {
    vi: { followup: 'Xin cảm ơn! Ông/Bà có muốn đánh giá thêm từng mặt? (không bắt buộc)', send: 'Gửi đánh giá', skip: 'Bỏ qua',
      thanks: 'Xin cảm ơn Ông/Bà đã đánh giá!', thanks_sub: 'Ý kiến của Ông/Bà giúp chúng tôi phục vụ tốt hơn.', lang: 'English',
      scan: 'Quét mã QR trên giấy hẹn', scan_help: 'Đưa mã QR trên giấy tiếp nhận hồ sơ vào camera hoặc máy quét.', cancel: 'Hủy',
      receipt_ok: 'Đã nhận mã giấy hẹn — mời Ông/Bà đánh giá', queued: 'Chờ gửi', exit: 'Thoát', exit_label: 'Thoát chế độ kiosk', pin: 'Nhập mã PIN để thoát chế độ kiosk',
      pin_bad: 'Mã PIN không đúng.', back: 'Quay lại kiosk', sync: 'Đồng bộ ngay', unenrol: 'Gỡ đăng ký thiết bị',
      revoked: 'Thiết bị đã bị thu hồi. Vui lòng liên hệ quản trị viên.', offline: 'Đang ngoại tuyến — câu trả lời được lưu và sẽ gửi sau',
      rejected: 'Bị từ chối', device: 'Thiết bị', counter: 'Quầy', not_receipt: 'Mã QR này không phải mã giấy hẹn.',
      refused_sub: 'Đánh giá này chưa được ghi nhận. Chạm vào màn hình để tiếp tục.', skip_link: 'Bỏ qua, đến nội dung chính' },
    en: { followup: 'Thank you! Would you like to rate each aspect too? (optional)', send: 'Send', skip: 'Skip',
      thanks: 'Thank you for your rating!', thanks_sub: 'Your opinion helps us serve you better.', lang: 'Tiếng Việt',
      scan: 'Scan the QR code on your receipt', scan_help: 'Hold the QR code on your receipt to the camera or the scanner.', cancel: 'Cancel',
      receipt_ok: 'Receipt scanned — please rate', queued: 'Queued', exit: 'Exit', exit_label: 'Exit kiosk mode', pin: 'Enter the PIN to leave kiosk mode',
      pin_bad: 'Wrong PIN.', back: 'Back to kiosk', sync: 'Sync now', unenrol: 'Unenrol this device',
      revoked: 'This device has been revoked. Please contact an administrator.', offline: 'Offline — answers are saved and will be sent later',
      rejected: 'Rejected', device: 'Device', counter: 'Counter', not_receipt: 'This QR code is not a receipt code.',
      refused_sub: 'This rating was not recorded. Tap the screen to continue.', skip_link: 'Skip to main content' }
  };

  function $(sel) { return document.querySelector(sel); }
  function $all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // ------------------------------------------------------------------ IndexedDB outbox
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open('hailong-kiosk', 1);
        req.onupgradeneeded = function () {
          req.result.createObjectStore('outbox', { keyPath: 'client_uuid' });
          req.result.createObjectStore('rejected', { keyPath: 'client_uuid' });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }
  function store(name, mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction(name, mode), st = tx.objectStore(name), out;
        var r = fn(st);
        if (r) r.onsuccess = function () { out = r.result; };
        tx.oncomplete = function () { resolve(out); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  var outbox = {
    put: function (item) { return store('outbox', 'readwrite', function (s) { return s.put(item); }); },
    all: function () { return store('outbox', 'readonly', function (s) { return s.getAll(); }); },
    del: function (id) { return store('outbox', 'readwrite', function (s) { return s.delete(id); }); },
    count: function () { return store('outbox', 'readonly', function (s) { return s.count(); }); },
    reject: function (item, status) {
      return store('rejected', 'readwrite', function (s) { return s.put({ client_uuid: item.client_uuid, body: item.body, status: status }); })
        .then(function () { return outbox.del(item.client_uuid); });
    }
  };
  window.hailongKiosk = { outbox: outbox };  // for diagnostics and the browser tests

  // ------------------------------------------------------------------ credential and config
  function credential() { return localStorage.getItem(LS_CRED); }
  function config() { try { return JSON.parse(localStorage.getItem(LS_CONFIG) || 'null'); } catch (e) { return null; } }

  function api(path, body) {
    return fetch(path, {
      method: 'POST', cache: 'no-store',
      headers: { 'content-type': 'application/json', 'authorization': 'Bearer ' + (credential() || '') },
      body: JSON.stringify(body)
    });
  }

  // ------------------------------------------------------------------ replay with backoff
  var flushing = false, again = false, attempt = 0, retryTimer = null, revoked = false;
  function scheduleRetry() {
    clearTimeout(retryTimer);
    var delay = Math.min(BACKOFF_MAX_MS, 500 * Math.pow(2, attempt)) * (0.75 + Math.random() * 0.5);
    attempt += 1;
    retryTimer = setTimeout(flush, delay);
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  // the screen waiting for the server's verdict on one answer (a receipt-bound rating), by client_uuid
  var waiters = {};
  function settle(id, outcome) { var w = waiters[id]; if (w) { delete waiters[id]; w(outcome); } }
  function outcomeOf(id, ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(function () { delete waiters[id]; resolve(null); }, ms);
      waiters[id] = function (outcome) { clearTimeout(timer); resolve(outcome); };
    });
  }
  function flush() {
    if (flushing) { again = true; return Promise.resolve(); }
    if (revoked || !credential()) return Promise.resolve();
    flushing = true; again = false;
    clearTimeout(retryTimer);
    return outbox.all().then(function (items) {
      items.sort(function (a, b) { return a.seq - b.seq; });
      var i = 0;
      function next() {
        if (i >= items.length) { attempt = 0; return null; }
        var item = items[i++];
        return api('/kiosk/api/responses', item.body).then(function (resp) {
          if (resp.status === 200 || resp.status === 201) return outbox.del(item.client_uuid).then(function () { settle(item.client_uuid, { ok: true }); });
          if (resp.status === 401) { setRevoked(true); throw new Error('revoked'); }
          if (resp.status >= 400 && resp.status < 500 && resp.status !== 408 && resp.status !== 429) {
            return resp.json().catch(function () { return {}; }).then(function (data) {
              var e = (data && data.errors && data.errors[0]) || {};
              return outbox.reject(item, resp.status).then(function () {
                settle(item.client_uuid, { ok: false, status: resp.status, field: e.field, message: e.message, message_en: e.message_en });
              });
            });
          }
          throw new Error('server ' + resp.status);
        }).then(function () { updateStatus(); return sleep(REPLAY_GAP_MS).then(next); });
      }
      return next();
    }).then(function () {
      flushing = false;
      if (again) return flush();
    }, function () {
      flushing = false;
      if (!revoked) scheduleRetry();
    }).then(updateStatus);
  }

  function heartbeat() {
    if (!credential()) return;
    outbox.count().then(function (queued) {
      return api('/kiosk/api/heartbeat', { app_version: APP_VERSION, queued: queued, device_time: new Date().toISOString() });
    }).then(function (resp) {
      if (resp.status === 401) { setRevoked(true); return null; }
      if (!resp.ok) return null;
      setRevoked(false);
      return resp.json().then(function (data) { localStorage.setItem(LS_CONFIG, JSON.stringify(data.config)); applyConfig(); });
    }).catch(function () { /* offline: try again later */ });
  }

  function setRevoked(on) {
    revoked = on;
    var b = $('#revoked');
    if (b) b.hidden = !on;
  }

  function updateStatus() {
    outbox.count().then(function (n) {
      document.body.dataset.queued = String(n);
      var el = $('#queued');
      if (el) el.textContent = n ? (T[lang].queued + ': ' + n) : '';
    });
    var off = $('#offline');
    if (off) off.textContent = navigator.onLine ? '' : T[lang].offline;
  }

  // ------------------------------------------------------------------ the screens
  var lang = 'vi', current = null, idleTimer = null, thanksTimer = null, seq = Date.now();

  function t(key) { return T[lang][key]; }
  function label(obj) { return obj ? (obj[lang] || obj.vi) : ''; }

  function show(name) {
    $all('.screen').forEach(function (s) { s.classList.toggle('active', s.id === 'screen-' + name); });
    document.body.dataset.screen = name;
  }

  function render() {
    var cfg = config();
    if (!cfg) return;
    document.documentElement.lang = lang;
    $all('[data-t]').forEach(function (el) { el.textContent = t(el.dataset.t); });
    $all('[data-tl]').forEach(function (el) { el.setAttribute('aria-label', t(el.dataset.tl)); });
    $('#lang').setAttribute('lang', lang === 'vi' ? 'en' : 'vi');  // the button names the other language
    var q = cfg.questionnaire;
    $('#overall-question').textContent = label(q.overall) || label(q.title);
    $all('.face').forEach(function (btn) { btn.querySelector('.face-label').textContent = label(q.scale[btn.dataset.level]); });
    var box = $('#items');
    box.textContent = '';
    q.items.forEach(function (item) {
      var row = document.createElement('div');
      row.className = 'item';
      row.setAttribute('role', 'group');
      var lbl = document.createElement('span');
      lbl.className = 'lbl'; lbl.id = 'lbl-' + item.id; lbl.textContent = label(item);
      row.setAttribute('aria-labelledby', lbl.id);
      row.appendChild(lbl);
      var lv = document.createElement('div');
      lv.className = 'levels';
      for (var v = 1; v <= 5; v++) {
        var b = document.createElement('button');
        b.type = 'button'; b.className = 'lv'; b.dataset.item = item.id; b.dataset.value = String(v);
        b.textContent = String(v); b.title = label(q.scale[String(v)]);
        b.setAttribute('aria-label', v + ' – ' + label(q.scale[String(v)]));  // the visible digit stays in the name
        b.setAttribute('aria-pressed', current && current.answers[item.id] === v ? 'true' : 'false');
        lv.appendChild(b);
      }
      row.appendChild(lv);
      box.appendChild(row);
    });
    // counters are named in Vietnamese ("Quầy 2"): the word is said in the screen's language
    // ("Counter 2" in English), never doubled ("Quầy Quầy 2", "Counter Quầy 2")
    var counter = String(cfg.counter || '').replace(/^\s*(qu\u1ea7y|quay|counter)\b[\s.:#-]*/i, '');
    counter = counter ? t('counter') + ' ' + counter : '';
    $('#device-name').textContent = cfg.device_name;  // names are data (lang="vi" in the page)
    $('#counter-name').textContent = counter ? '· ' + counter : '';
    $('#unit-name').textContent = cfg.unit_name;
    $('#receipt-ok').hidden = !(current && current.receipt_token);
    $('#scan-error').hidden = !(current && current.scan_error);
  }

  function applyConfig() { render(); }

  function newCitizen() {
    current = { overall: null, answers: {}, receipt_token: null, scan_error: false, saved: false, client_uuid: null };
    lang = 'vi';
    stopCamera();  // a citizen who walked away from the scan screen must not leave the camera on
    setBusy(false);
    clearTimeout(thanksTimer);
    render();
    show('start');
  }

  function save() {
    // write the answer to IndexedDB once, then try to send it
    if (!current || current.saved || !current.overall) return Promise.resolve();
    current.saved = true;
    var cfg = config();
    var body = {
      client_uuid: uuid4(), device_time: new Date().toISOString(),
      questionnaire_id: cfg.questionnaire.id, questionnaire_version: cfg.questionnaire.version,
      overall: current.overall, answers: current.answers, language: lang
    };
    if (current.receipt_token) body.receipt_token = current.receipt_token;
    current.client_uuid = body.client_uuid;
    return outbox.put({ client_uuid: body.client_uuid, seq: seq++, body: body }).then(function () { updateStatus(); flush(); });
  }

  function thanks() {
    show('thanks');
    clearTimeout(thanksTimer);
    thanksTimer = setTimeout(newCitizen, Math.min(THANKS_MS, idleSeconds() * 1000));
  }
  function refused(outcome) {
    $('#refused-message').textContent = (lang === 'en' && outcome.message_en) || outcome.message || t('rejected');
    show('refused');
    clearTimeout(thanksTimer);
    thanksTimer = setTimeout(newCitizen, 2 * THANKS_MS);
  }
  function setBusy(on) {
    ['#send', '#skip'].forEach(function (sel) { var b = $(sel); if (b) b.disabled = on; });
    if (on) document.body.dataset.busy = '1'; else delete document.body.dataset.busy;
  }
  function finish() {
    if (document.body.dataset.busy) return;
    var cit = current;
    save();
    // a receipt-bound rating may be refused (receipt already rated, another unit's, forged): when online, wait
    // briefly for the server's verdict so the citizen is told; offline it is queued and thanked as usual
    if (!cit || !cit.receipt_token || !cit.client_uuid || !navigator.onLine) { thanks(); return; }
    setBusy(true);
    outcomeOf(cit.client_uuid, RECEIPT_VERDICT_MS).then(function (outcome) {
      if (current !== cit) return;  // reset meanwhile (idle)
      setBusy(false);
      if (outcome && !outcome.ok && outcome.field === 'receipt_token') refused(outcome); else thanks();
    });
  }

  function idleSeconds() { var c = config(); return (c && c.idle_seconds) || 20; }
  function touch() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(onIdle, idleSeconds() * 1000);
  }
  function onIdle() {
    var screen = document.body.dataset.screen;
    if (screen === 'admin' || screen === 'pin') { touch(); if (screen === 'pin') newCitizen(); return; }
    if (screen !== 'start' || (current && current.receipt_token)) {
      save();  // a chosen rating is kept even when the citizen walks away
      newCitizen();
    }
  }

  // ------------------------------------------------------------------ receipt QR (camera or USB scanner)
  var wedge = '', wedgeAt = 0, scanStream = null;
  function acceptScan(text) {
    var screen = document.body.dataset.screen;
    if (screen === 'pin' || screen === 'admin') return false;  // staff screens: not a citizen's scan
    // a new citizen may scan while the previous one's thank-you (or refusal) is still shown
    if (!current || current.saved || screen === 'thanks' || screen === 'refused') newCitizen();
    text = (text || '').trim();
    var ok = /\/R\/[A-Z2-7]{30,64}\/?([?#].*)?$/i.test(text) || /^[A-Z2-7]{30,64}$/i.test(text);
    current.receipt_token = ok ? text : null;
    current.scan_error = !ok;
    stopCamera();
    render();
    show('start');
    touch();
    if (ok) checkReceipt(current);
    return ok;
  }
  // online, ask at once whether this receipt may be rated here, so a citizen is not asked to rate a receipt that
  // is already rated, another unit's or forged; offline (or on a network error) the rating's own verdict decides
  function checkReceipt(cit) {
    if (!navigator.onLine) return;
    api('/kiosk/api/receipt-check', { receipt_token: cit.receipt_token }).then(function (resp) {
      if (resp.status === 401) { setRevoked(true); return null; }
      if (resp.status !== 409 && resp.status !== 422) return null;
      return resp.json().then(function (data) {
        var e = (data && data.errors && data.errors[0]) || {};
        if (current !== cit || cit.saved || e.field !== 'receipt_token') return;  // moved on, or already sent
        refused({ message: e.message, message_en: e.message_en });
      });
    }).catch(function () { /* unreachable server: the submission is checked when it is sent */ });
  }
  function onKey(e) {
    // a keyboard-wedge scanner types the QR text quickly and ends with Enter (a few ms a key; allow for a
    // Bluetooth scanner or a busy tablet; a person typing is slower, and a kiosk normally has no keyboard)
    var now = e.timeStamp || Date.now();
    if (now - wedgeAt > WEDGE_GAP_MS) wedge = '';
    wedgeAt = now;
    if (e.key === 'Enter') {
      // the scanner's Enter must not also press the focused button (language, exit, a face...)
      if (wedge.length > 20) { e.preventDefault(); e.stopPropagation(); acceptScan(wedge); }
      wedge = '';
      return;
    }
    if (e.key.length === 1) wedge += e.key;
  }
  function stopCamera() {
    if (scanStream) { scanStream.getTracks().forEach(function (tr) { tr.stop(); }); scanStream = null; }
    var video = $('#scan-video');
    if (video) { video.srcObject = null; video.hidden = true; }
  }
  function startCamera() {
    show('scan');
    // the USB scanner always works; the camera only where the browser can decode QR codes (desktop Linux
    // Chromium has a BarcodeDetector that detects nothing: no pointless camera stream there)
    if (!('BarcodeDetector' in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    var formats = window.BarcodeDetector.getSupportedFormats ? window.BarcodeDetector.getSupportedFormats() : Promise.resolve([]);
    formats.then(function (list) {
      if (list.indexOf('qr_code') < 0 || document.body.dataset.screen !== 'scan') return null;
      var detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user' } }).then(function (stream) {
        if (document.body.dataset.screen !== 'scan') { stream.getTracks().forEach(function (tr) { tr.stop(); }); return; }
        runDetector(detector, stream);
      });
    }).catch(function () { /* no camera: the USB scanner still works */ });
  }
  function runDetector(detector, stream) {
    stopCamera();
    scanStream = stream;
    var video = $('#scan-video');
    video.hidden = false;
    video.srcObject = stream;
    video.play();
    (function loop() {
      if (scanStream !== stream) return;
      detector.detect(video).then(function (codes) {
        if (scanStream !== stream) return;
        if (codes.length && acceptScan(codes[0].rawValue)) return;
        setTimeout(loop, 250);
      }).catch(function () { setTimeout(loop, 500); });
    })();
  }

  // ------------------------------------------------------------------ exit PIN
  var pin = '';
  function sha256hex(text) {
    return crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)).then(function (buf) {
      return Array.prototype.map.call(new Uint8Array(buf), function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    });
  }
  function pinKey(k) {
    if (k === 'C') pin = ''; else if (k === 'OK') { checkPin(); return; } else if (pin.length < 8) pin += k;
    $('#pin-dots').textContent = pin.replace(/./g, '●');
  }
  function checkPin() {
    var parts = (config().exit_pin || '').split('$');
    sha256hex(parts[0] + pin).then(function (hex) {
      pin = ''; $('#pin-dots').textContent = '';
      if (hex === parts[1]) { $('#pin-error').hidden = true; enterAdmin(); } else { $('#pin-error').hidden = false; }
    });
  }
  function enterAdmin() {
    if (document.fullscreenElement) document.exitFullscreen().catch(function () {});
    outbox.count().then(function (n) { $('#admin-queued').textContent = String(n); });
    show('admin');
  }

  // ------------------------------------------------------------------ wiring
  function initApp() {
    if (!credential() || !config()) { location.replace('/kiosk/enrol'); return; }
    document.addEventListener('pointerdown', touch, true);
    document.addEventListener('keydown', function (e) { touch(); onKey(e); }, true);
    $all('.face').forEach(function (btn) {
      btn.addEventListener('click', function () {
        current.overall = Number(btn.dataset.level);
        current.scan_error = false;
        if (document.documentElement.requestFullscreen && !document.fullscreenElement) document.documentElement.requestFullscreen().catch(function () {});
        render();
        show('followup');
        touch();
      });
    });
    $('#items').addEventListener('click', function (e) {
      var b = e.target.closest('.lv');
      if (!b) return;
      var v = Number(b.dataset.value);
      if (current.answers[b.dataset.item] === v) delete current.answers[b.dataset.item]; else current.answers[b.dataset.item] = v;
      render();
    });
    $('#send').addEventListener('click', finish);
    $('#screen-thanks').addEventListener('click', newCitizen);  // the next citizen need not wait
    $('#screen-refused').addEventListener('click', newCitizen);
    $('#skip').addEventListener('click', function () { current.answers = {}; finish(); });
    $('#lang').addEventListener('click', function () { lang = lang === 'vi' ? 'en' : 'vi'; render(); });
    $('#scan').addEventListener('click', startCamera);
    $('#scan-cancel').addEventListener('click', function () { stopCamera(); show('start'); });
    $('#exit').addEventListener('click', function () { pin = ''; $('#pin-dots').textContent = ''; $('#pin-error').hidden = true; show('pin'); touch(); });
    $all('.pinpad button').forEach(function (b) { b.addEventListener('click', function () { pinKey(b.dataset.k); }); });
    $('#pin-cancel').addEventListener('click', newCitizen);
    $('#admin-back').addEventListener('click', newCitizen);
    $('#admin-sync').addEventListener('click', function () { attempt = 0; flush().then(enterAdmin); });
    $('#admin-unenrol').addEventListener('click', function () {
      localStorage.removeItem(LS_CRED); localStorage.removeItem(LS_CONFIG); location.replace('/kiosk/enrol');
    });
    window.addEventListener('online', function () { attempt = 0; updateStatus(); flush(); });
    window.addEventListener('offline', updateStatus);
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/kiosk/sw.js', { scope: '/kiosk/' }).catch(function () {});
    newCitizen();
    updateStatus();
    heartbeat();
    setInterval(heartbeat, HEARTBEAT_MS);
    flush();
    document.body.dataset.ready = '1';
  }

  function initEnrol() {
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/kiosk/sw.js', { scope: '/kiosk/' }).catch(function () {});
    var form = $('#enrol-form');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var err = $('#enrol-error');
      err.hidden = true;
      fetch('/kiosk/api/enrol', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: $('#code').value }) })
        .then(function (resp) {
          return resp.json().then(function (data) {
            if (resp.status !== 201) throw new Error((data.errors && data.errors[0] && data.errors[0].message) || data.detail);
            localStorage.setItem(LS_CRED, data.credential);
            localStorage.setItem(LS_CONFIG, JSON.stringify(data.config));
            location.replace('/kiosk/');
          });
        })
        .catch(function (e2) { err.textContent = e2.message || 'Không kết nối được máy chủ.'; err.hidden = false; });
    });
    document.body.dataset.ready = '1';
  }

  if (document.body.classList.contains('kiosk-enrol')) initEnrol(); else initApp();
})();
