/* The phone's queue of roll entries, kept in IndexedDB so that it survives a
   closed browser; shared by the page (offline-roll.js) and the service worker.
   An entry: {id (made here), meeting, url, marks, seen, written_at, csrf,
   state: "unsent" | "conflict", conflicts}. */
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
      return fetch(entry.url, {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf || entry.csrf },
        body: JSON.stringify({ id: entry.id, marks: entry.marks, seen: entry.seen, written_at: entry.written_at })
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
