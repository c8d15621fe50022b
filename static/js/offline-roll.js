/* The roll with no signal (the one script of the registry; every page works
   without it). On every page: registers the service worker, sends the phone's
   queue of roll entries when there is signal, says how many are not sent yet,
   and asks before a logout would drop them. On a roll page: keeps the page for
   offline use and, instead of posting the form, queues the marks that changed
   as one entry with an id made here, then sends it; the registry applies an id
   once and answers the marks that changed there meanwhile, which are shown
   beside the phone's for the secretary to choose. On a meeting page: keeps the
   page, and a task set with no signal is queued the same way (the task form's
   own fields) and set once when the network is back; so are the agenda, the
   minutes and the resolution, with the registry's text shown beside the phone's
   when it changed there meanwhile. */
(function () {
  "use strict";
  var queue = window.rollQueue;
  var status = document.getElementById("offline-status");
  if (!queue || !status || !window.indexedDB) return;
  var text = status.dataset;
  var form = document.querySelector("form[data-offline-roll]");
  var tokenInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = tokenInput ? tokenInput.value : "";
  var CACHE = "pacnam-roll-v1";

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(text.worker, { scope: "/" }).catch(function () {});
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function ordered(entries) {
    return entries.sort(function (a, b) { return a.n - b.n; });
  }

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content) node.textContent = content;
    return node;
  }

  // --- The roll page's marks, read from and written to the form ---
  function memberIds() {
    return Array.prototype.map.call(form.querySelectorAll("input[name^=reason-]"), function (i) {
      return i.name.slice("reason-".length);
    });
  }
  function readMarks() {
    var marks = {};
    memberIds().forEach(function (id) {
      var checked = form.querySelector("input[name='presence-" + id + "']:checked");
      var reason = form.querySelector("input[name='reason-" + id + "']");
      marks[id] = [checked ? checked.value : "", reason.value.trim()];
    });
    return marks;
  }
  // The dues column (its taps, reasons and months ahead), as one text: the phone
  // queues marks only, so a roll whose dues changed is posted as the page's own
  // form (marks and dues in one transaction), and with no signal its dues stay in
  // the form, said, until the network is back.
  function readDues() {
    return Array.prototype.filter.call(form.querySelectorAll("input[name^=dues]"), function (i) {
      return i.type !== "radio" || i.checked;
    }).map(function (i) { return i.name + "=" + i.value.trim(); }).sort().join("&");
  }
  function showMark(id, mark) {
    var radio = form.querySelector("input[name='presence-" + id + "'][value='" + mark[0] + "']");
    form.querySelectorAll("input[name='presence-" + id + "']").forEach(function (r) { r.checked = r === radio; });
    var reason = form.querySelector("input[name='reason-" + id + "']");
    if (reason) reason.value = mark[1];
  }

  // --- What is waiting on this phone ---
  function render() {
    return queue.all().then(function (entries) {
      entries = ordered(entries);
      var waiting = entries.filter(function (e) { return e.state === "unsent"; });
      status.textContent = waiting.length ? text.unsent.replace("{n}", waiting.length) : "";
      status.hidden = !waiting.length;
      if (taskForm) renderTasks(entries);
      if (recordForm) renderRecord(entries);
      if (!form) return;
      var box = document.getElementById("offline-queue");
      box.textContent = "";
      var mine = entries.filter(function (e) { return e.meeting === form.dataset.meeting && !e.kind; });
      mine.forEach(function (entry) {
        // A page kept from before shows the marks this phone has made since.
        Object.keys(entry.marks).forEach(function (id) { if (entry.state === "unsent") showMark(id, entry.marks[id]); });
        if (entry.state === "unsent") {
          box.appendChild(el("p", "message warning", text.kept));
        } else if (entry.state === "refused") {
          box.appendChild(el("p", "message error", text.refused.replace("{error}", entry.error || "")));
          var drop = el("button", "link-button", text.drop);
          drop.type = "button";
          drop.onclick = function () { queue.remove(entry.id).then(render); };
          box.appendChild(drop);
        } else if (entry.state === "conflict") {
          box.appendChild(conflictCard(entry));
        }
      });
      box.hidden = !box.childNodes.length;
    });
  }

  function conflictCard(entry) {
    var card = el("div", "card offline-conflict");
    card.appendChild(el("p", "message error", text.conflict));
    var list = el("ul", "conflicts");
    entry.conflicts.forEach(function (c) {
      var item = el("li");
      item.appendChild(el("strong", "", c.name));
      item.appendChild(el("span", "", " · " + text.server + ": " + c.server_label + " · " + text.phone + ": " + c.phone_label + " "));
      var keep = el("button", "", text.keep);
      var use = el("button", "primary", text.use);
      keep.type = use.type = "button";
      keep.onclick = function () { resolve(entry, c, null); };
      use.onclick = function () { resolve(entry, c, c.phone); };
      item.appendChild(keep);
      item.appendChild(use);
      list.appendChild(item);
    });
    card.appendChild(list);
    return card;
  }

  // The secretary chose: the registry's mark stays, or the phone's is sent again
  // as a new entry that has now seen the registry's mark.
  function resolve(entry, conflict, mark) {
    entry.conflicts = entry.conflicts.filter(function (c) { return c !== conflict; });
    var done = entry.conflicts.length ? queue.put(entry) : queue.remove(entry.id);
    return done.then(function () {
      if (mark) {
        var again = newEntry({}, {});
        again.marks[conflict.member] = mark;
        again.seen[conflict.member] = conflict.server;
        return queue.put(again).then(function () { return queue.send(again, csrf); });
      }
      showMark(conflict.member, conflict.server);
    }).then(render);
  }

  // --- A task set on the meeting page with no signal ---
  var taskForm = document.querySelector("form[data-offline-task]");

  function renderTasks(entries) {
    var box = document.getElementById("offline-tasks");
    box.textContent = "";
    entries.filter(function (e) { return e.kind === "task" && e.meeting === taskForm.dataset.meeting; })
      .forEach(function (entry) {
        if (entry.state === "refused") {
          box.appendChild(el("p", "message error", text.taskRefused.replace("{task}", entry.label).replace("{error}", entry.error || "")));
          var drop = el("button", "link-button", text.drop);
          drop.type = "button";
          drop.onclick = function () { queue.remove(entry.id).then(render); };
          box.appendChild(drop);
        } else {
          box.appendChild(el("p", "message warning", text.taskKept.replace("{task}", entry.label)));
        }
      });
    box.hidden = !box.childNodes.length;
  }

  if (taskForm || recordForm) keepForOffline();
  if (taskForm) {
    taskForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var fields = new FormData(taskForm);
      fields.delete("csrfmiddlewaretoken");
      var entry = {
        id: newId(), n: Date.now() * 1000 + (counter++ % 1000), kind: "task",
        meeting: taskForm.dataset.meeting, url: taskForm.dataset.entryUrl,
        form: new URLSearchParams(fields).toString(), label: (fields.get("description") || "").trim(),
        written_at: new Date().toISOString(), csrf: csrf, state: "unsent"
      };
      queue.put(entry).then(function () { return queue.send(entry, csrf); }).then(function (result) {
        if (result === "sent") { window.location.reload(); return; }
        if (result === "kept") { taskForm.reset(); syncLater(); }
        return render();
      });
    });
  }

  // --- The agenda, minutes and resolution written with no signal ---
  var recordForm = document.querySelector("form[data-offline-record]");
  var TEXTS = ["agenda", "minutes", "resolution"];

  function readTexts() {
    var texts = {};
    TEXTS.forEach(function (name) {
      var box = recordForm.querySelector("textarea[name=" + name + "]");
      if (box) texts[name] = box.value;
    });
    return texts;
  }
  function othersOf(formData) {
    var rest = [];
    formData.forEach(function (value, name) {
      if (TEXTS.indexOf(name) < 0 && name !== "csrfmiddlewaretoken") rest.push(name + "=" + value);
    });
    return rest.join("&");
  }

  function renderRecord(entries) {
    var box = document.getElementById("offline-record");
    box.textContent = "";
    entries.filter(function (e) { return e.kind === "record" && e.meeting === recordForm.dataset.meeting; })
      .forEach(function (entry) {
        if (entry.state === "unsent") {
          Object.keys(entry.texts).forEach(function (name) {
            var area = recordForm.querySelector("textarea[name=" + name + "]");
            if (area) area.value = entry.texts[name];
          });
          box.appendChild(el("p", "message warning", text.recordKept));
        } else if (entry.state === "refused") {
          box.appendChild(el("p", "message error", text.refused.replace("{error}", entry.error || "")));
          var drop = el("button", "link-button", text.drop);
          drop.type = "button";
          drop.onclick = function () { queue.remove(entry.id).then(render); };
          box.appendChild(drop);
        } else if (entry.state === "conflict") {
          box.appendChild(recordConflict(entry));
        }
      });
    box.hidden = !box.childNodes.length;
  }

  function recordConflict(entry) {
    var card = el("div", "card offline-conflict");
    card.appendChild(el("p", "message error", text.recordConflict));
    entry.conflicts.forEach(function (c) {
      card.appendChild(el("h3", "", c.label));
      card.appendChild(el("p", "muted", text.server + ":"));
      card.appendChild(el("blockquote", "", c.server));
      card.appendChild(el("p", "muted", text.phone + ":"));
      card.appendChild(el("blockquote", "", c.phone));
      var keep = el("button", "", text.keep), use = el("button", "primary", text.use);
      keep.type = use.type = "button";
      keep.onclick = function () { chooseText(entry, c, false); };
      use.onclick = function () { chooseText(entry, c, true); };
      card.appendChild(keep);
      card.appendChild(use);
    });
    return card;
  }

  // The registry's text stays, or the phone's is sent again having seen it.
  function chooseText(entry, conflict, usePhone) {
    entry.conflicts = entry.conflicts.filter(function (c) { return c !== conflict; });
    var done = entry.conflicts.length ? queue.put(entry) : queue.remove(entry.id);
    return done.then(function () {
      var area = recordForm.querySelector("textarea[name=" + conflict.field + "]");
      if (!usePhone) { if (area) area.value = conflict.server; recordSeen[conflict.field] = conflict.server; return; }
      var again = recordEntry({}, {});
      again.texts[conflict.field] = conflict.phone;
      again.seen[conflict.field] = conflict.server;
      return queue.put(again).then(function () { return queue.send(again, csrf); });
    }).then(render);
  }

  function recordEntry(texts, seen) {
    return {
      id: newId(), n: Date.now() * 1000 + (counter++ % 1000), kind: "record",
      meeting: recordForm.dataset.meeting, url: recordForm.dataset.entryUrl,
      texts: texts, seen: seen, written_at: new Date().toISOString(), csrf: csrf, state: "unsent"
    };
  }

  if (recordForm) {
    var recordSeen = readTexts(), othersSeen = othersOf(new FormData(recordForm));
    recordForm.addEventListener("submit", function (event) {
      // A change of the date, the chair or the like posts the form as always: it
      // needs the registry's lists. Only the texts go through the phone's queue.
      if (othersOf(new FormData(recordForm)) !== othersSeen) {
        if (navigator.onLine) return;
        event.preventDefault();
        status.hidden = false;
        status.textContent = text.recordOffline;
        return;
      }
      event.preventDefault();
      var now = readTexts(), texts = {}, before = {};
      Object.keys(now).forEach(function (name) {
        if (now[name] !== recordSeen[name]) { texts[name] = now[name]; before[name] = recordSeen[name]; }
      });
      if (!Object.keys(texts).length) { window.location.reload(); return; }
      var entry = recordEntry(texts, before);
      recordSeen = now;
      queue.put(entry).then(function () { return queue.send(entry, csrf); }).then(function (result) {
        if (result === "sent") { window.location.reload(); return; }
        if (result === "kept") syncLater();
        return render();
      });
    });
  }

  function keepForOffline() {
    if (navigator.onLine && window.caches) {
      // Kept for the day there is no signal: this page and what it loads.
      var assets = Array.prototype.map.call(document.querySelectorAll("link[rel=stylesheet], script[src]"),
        function (n) { return n.href || n.src; });
      caches.open(CACHE).then(function (c) { return c.addAll([location.pathname].concat(assets)); }).catch(function () {});
    }
  }

  function syncLater() {
    if (navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (reg) { if (reg.sync) reg.sync.register("pacnam-roll"); }).catch(function () {});
    }
  }

  var counter = 0;
  function newEntry(marks, seen) {
    return {
      id: newId(), n: Date.now() * 1000 + (counter++ % 1000), meeting: form.dataset.meeting,
      url: form.dataset.entryUrl, marks: marks, seen: seen,
      written_at: new Date().toISOString(), csrf: csrf, state: "unsent"
    };
  }

  function sendQueue() {
    if (!navigator.onLine) return render();
    return queue.all().then(function (before) {
      var page = (taskForm || recordForm || {}).dataset;
      var tasksHere = page && before.some(function (e) {
        return (e.kind === "task" || e.kind === "record") && e.state === "unsent" && e.meeting === page.meeting;
      });
      return queue.sendAll(csrf).then(function (results) {
        // A task or the minutes kept here were written: the page shows them.
        if (tasksHere && results.indexOf("sent") >= 0) { window.location.reload(); return; }
        return render();
      }, render);
    });
  }

  if (form) {
    var seen = readMarks(), duesSeen = readDues();
    keepForOffline();
    form.addEventListener("submit", function (event) {
      var duesChanged = readDues() !== duesSeen;
      if (duesChanged && navigator.onLine) return;
      event.preventDefault();
      var now = readMarks(), marks = {}, before = {};
      Object.keys(now).forEach(function (id) {
        if (now[id][0] !== seen[id][0] || now[id][1] !== seen[id][1]) { marks[id] = now[id]; before[id] = seen[id]; }
      });
      var missing = Object.keys(now).filter(function (id) { return now[id][0] === "excused" && !now[id][1]; });
      if (missing.length) {
        form.querySelector("input[name='reason-" + missing[0] + "']").focus();
        status.hidden = false;
        status.textContent = text.reason;
        return;
      }
      var entry = newEntry(marks, before);
      seen = now;
      queue.put(entry).then(function () { return queue.send(entry, csrf); }).then(function (result) {
        if (result === "sent" && !duesChanged) { window.location.href = form.dataset.doneUrl; return; }
        if (result === "kept") syncLater();
        return render();
      }).then(function () {
        if (!duesChanged) return;
        status.hidden = false;
        status.textContent = text.dues;
      });
    });
  }

  // A logout clears what the registry keeps on this phone (Clear-Site-Data):
  // unsent entries would be lost, so ask first.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-logout]"), function (logout) {
    logout.addEventListener("submit", function (event) {
      if (logout.dataset.confirmed) return;
      event.preventDefault();
      queue.all().then(function (entries) {
        var left = entries.filter(function (e) { return e.state !== "sent"; }).length;
        if (!left || window.confirm(text.logout.replace("{n}", left))) {
          logout.dataset.confirmed = "1";
          logout.submit();
        }
      });
    });
  });

  window.addEventListener("online", sendQueue);
  sendQueue();
})();
