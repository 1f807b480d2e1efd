// The key travels in the link's fragment, which browsers never send to a server: hand it to the
// page by a form post (not logged) and drop it from the address bar.
(function () {
  var m = /(?:^|&)guest_token=([^&]+)/.exec(location.hash.slice(1));
  if (!m) { document.getElementById("opening").hidden = true; return; }
  history.replaceState(null, "", location.pathname);
  document.getElementById("token").value = decodeURIComponent(m[1]);
  document.getElementById("token-form").submit();
})();
