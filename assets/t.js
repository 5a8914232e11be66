/*! Tracklane site tracking snippet. No dependencies, no build step.
 * Commands (ActiveCampaign-compatible): setAccount, setTrackByDefault, setEmail, process, update.
 * process('allowTracking') is consent, kept a year in the first-party cookie tl_consent.
 * Reads the queue of ActiveCampaign's standard loader (window.visitorGlobalObjectAlias / vgo.q,
 * window.prismGlobalObjectAlias / pgo.q) and of window.tracklane.q, then runs commands directly.
 */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  var base = script && script.src ? script.src.replace(/\/t\.js(\?.*)?$/, "") : "";
  var YEAR = 365 * 864e5;

  function cookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }

  function setCookie(name, value) {
    d.cookie = name + "=" + value + "; expires=" + new Date(Date.now() + YEAR).toUTCString() +
      "; path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  // The contact token of a tracked email link's landing page: read once, then taken out of the
  // address bar (so it is not bookmarked, shared or stored with the page's address).
  function takeToken() {
    var found = location.search.match(/[?&]tl_cid=([^&#]*)/);
    if (!found) return null;
    try {
      var url = new URL(location.href);
      url.searchParams.delete("tl_cid");
      w.history.replaceState(w.history.state, "", url.pathname + url.search + url.hash);
    } catch (e) { /* an old browser keeps it in view; the server never stores it */ }
    try { return decodeURIComponent(found[1]); } catch (e) { return null; }
  }

  var state = {
    account: null, byDefault: true, allowed: cookie("tl_consent") === "1", email: null,
    sent: false, token: takeToken()
  };

  function visitorId() {
    var id = cookie("tl_vid");
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
      var bytes = new Uint8Array(16);
      (w.crypto || w.msCrypto).getRandomValues(bytes);
      id = Array.prototype.map.call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    }
    setCookie("tl_vid", id);
    return id;
  }

  function doNotTrack() {
    var n = w.navigator || {};
    return n.doNotTrack === "1" || w.doNotTrack === "1" || n.globalPrivacyControl === true;
  }

  function send(hit) {
    var url = base + "/c";
    var body = JSON.stringify(hit);
    var n = w.navigator || {};
    try {
      if (n.sendBeacon && n.sendBeacon(url, body)) return;
    } catch (e) { /* fall through */ }
    if (w.fetch) {
      w.fetch(url, { method: "POST", body: body, keepalive: true, mode: "no-cors",
        headers: { "Content-Type": "text/plain" } });
      return;
    }
    new Image().src = url + "?d=" + encodeURIComponent(body);
  }

  function hit(kind) {
    if (!state.account || (!state.byDefault && !state.allowed)) return;
    send({
      a: state.account, k: kind, v: visitorId(), u: location.href, r: d.referrer,
      t: d.title, e: state.email || undefined, c: state.token || undefined,
      dnt: doNotTrack() ? 1 : 0
    });
    state.token = null;
  }

  var commands = {
    setAccount: function (id) { state.account = String(id); },
    setTrackByDefault: function (on) { state.byDefault = on !== false && on !== "false"; },
    setEmail: function (email) {
      var known = state.email;
      state.email = email;
      if (state.sent && email && email !== known) hit("identify");
    },
    process: function (arg) {
      if (arg === "allowTracking") {
        // Consent is kept, so that the next pages track without asking again.
        state.allowed = true;
        setCookie("tl_consent", "1");
      }
      hit("page");
      state.sent = true;
    },
    update: function () { hit("page"); }
  };

  function run(args) {
    var command = commands[args[0]];
    if (command) command.apply(null, Array.prototype.slice.call(args, 1));
  }

  function tracklane() { run(arguments); }
  tracklane.l = Date.now();
  tracklane.q = [];

  var names = ["tracklane", w.visitorGlobalObjectAlias, w.prismGlobalObjectAlias];
  var pending = [];
  for (var i = 0; i < names.length; i++) {
    var name = names[i];
    if (!name) continue;
    var queue = w[name] && w[name].q;
    if (queue && queue !== tracklane.q) pending = pending.concat(Array.prototype.slice.call(queue));
    w[name] = tracklane;
  }
  for (var j = 0; j < pending.length; j++) run(pending[j]);
})(window, document);
