{% load static %}/* The registry's service worker. It keeps only what the roll needs with no
   signal: the roll and meeting pages a secretary opened (the page script asks for them), the
   static files and the "no signal" page. Every other page goes to the network
   and is never kept, as its no-store header asks. */
"use strict";
importScripts("{% static 'js/roll-queue.js' %}");
var CACHE = "pacnam-roll-v1";
var OFFLINE = "{% url 'meetings:offline' %}";
var STATIC = "{% get_static_prefix %}";
// The pages a secretary may keep: a meeting's roll and the meeting itself (its tasks).
var ROLL = /^\/meetings\/\d+\/(attendance\/)?$/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.add(OFFLINE); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request, url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).then(function (response) {
      // A kept page opened online replaces the copy kept for offline use.
      if (ROLL.test(url.pathname) && response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (c) {
          return c.match(url.pathname).then(function (kept) { if (kept) return c.put(url.pathname, copy); });
        });
      }
      return response;
    }, function () {
      return caches.match(url.pathname, { ignoreSearch: true }).then(function (kept) {
        return kept || caches.match(OFFLINE);
      });
    }));
  } else if (url.pathname.indexOf(STATIC) === 0) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok) { var copy = response.clone(); caches.open(CACHE).then(function (c) { c.put(request, copy); }); }
      return response;
    }, function () { return caches.match(request); }));
  }
});

// Background Sync where the browser has it: the queue goes out when signal returns.
self.addEventListener("sync", function (event) {
  if (event.tag === "pacnam-roll") event.waitUntil(self.rollQueue.sendAll());
});
