// Live quote: the stay's fields update the price and the booking form as they change.
(function () {
  var stay = document.getElementById("stay");
  stay.addEventListener("change", function () {
    var data = new FormData(stay);
    document.querySelectorAll("[data-from]").forEach(function (el) { el.value = data.get(el.dataset.from) || ""; });
    var body = {room_type: data.get("room_type"), check_in: data.get("check_in"), check_out: data.get("check_out"),
                adults: parseInt(data.get("adults") || "1", 10), children: parseInt(data.get("children") || "0", 10)};
    if (data.get("promo_code")) body.promo_code = data.get("promo_code");
    fetch(stay.dataset.quoteUrl, {method: "POST", headers: {"Content-Type": "application/json"},
          body: JSON.stringify(body)}).then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (res) {
        var box = document.getElementById("quote");
        if (res[0]) { box.innerHTML = "<h2>Your price</h2><p>Total: <strong id='total'>" + res[1].total.amount + " " + res[1].total.currency + "</strong> for " + res[1].nights.length + " nights</p>"; }
        else { box.innerHTML = "<p class='error'></p>"; box.firstChild.textContent = res[1].detail || res[1].title; }
      });
  });
})();
