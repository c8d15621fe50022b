/* The phone's queue of entries, kept in IndexedDB so that it survives a closed
   browser; shared by the page (offline-roll.js) and the service worker.
   A roll entry: {id (made here), meeting, url, marks, seen, written_at, csrf,
   state: "unsent" | "conflict" | "refused", conflicts}; a task entry has
   kind "task" and, instead of marks, the task form's fields as `form` (a
   URL-encoded string), posted as the form would be; a record entry (kind
   "record") the agenda, minutes and resolution typed (`texts`) and as the page
   showed them (`seen`). */
(function (scope) {
  "use strict";
  var DB = "pacnam-roll", STORE = "entries";

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "id" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode), result;
        var request = work(tx.objectStore(STORE));
        if (request) request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }

  var queue = {
    put: function (entry) { return run("readwrite", function (s) { return s.put(entry); }); },
    remove: function (id) { return run("readwrite", function (s) { return s.delete(id); }); },
    all: function () { return run("readonly", function (s) { return s.getAll(); }); },

    /* Send one entry; resolves to "sent", "conflict", "kept" (no signal or no
       session: try again later) or "refused" (the registry said no, with a
       message kept on the entry). The server applies an id once, so sending
       again after a lost answer changes nothing. */
    send: function (entry, csrf) {
      var headers = { "X-CSRFToken": csrf || entry.csrf }, body;
      if (entry.kind === "task") {
        headers["Content-Type"] = "application/x-www-form-urlencoded";
        body = entry.form + "&offline_id=" + encodeURIComponent(entry.id) +
          "&written_at=" + encodeURIComponent(entry.written_at);
      } else if (entry.kind === "record") {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify({ id: entry.id, texts: entry.texts, seen: entry.seen, written_at: entry.written_at });
      } else {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify({ id: entry.id, marks: entry.marks, seen: entry.seen, written_at: entry.written_at });
      }
      return fetch(entry.url, {
        method: "POST", credentials: "same-origin", redirect: "manual", headers: headers, body: body
      }).then(function (response) {
        if (response.status === 200) {
          return response.json().then(function (answer) {
            if (answer.conflicts && answer.conflicts.length) {
              entry.state = "conflict";
              entry.conflicts = answer.conflicts;
              return queue.put(entry).then(function () { return "conflict"; });
            }
            return queue.remove(entry.id).then(function () { return "sent"; });
          });
        }
        if (response.status === 400) {
          return response.json().then(function (answer) {
            entry.state = "refused";
            entry.error = answer.error;
            return queue.put(entry).then(function () { return "refused"; });
          });
        }
        return "kept";
      }, function () { return "kept"; });
    },

    sendAll: function (csrf) {
      return queue.all().then(function (entries) {
        var unsent = entries.filter(function (e) { return e.state === "unsent"; });
        return unsent.reduce(function (done, entry) {
          return done.then(function (results) {
            return queue.send(entry, csrf).then(function (r) { results.push(r); return results; });
          });
        }, Promise.resolve([]));
      });
    }
  };
  scope.rollQueue = queue;
})(self);
